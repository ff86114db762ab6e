"""Setting up who may connect: Airflow's database, role passwords, authorised recipients, public views.

Everything here runs as the administrator (``WAREHOUSE_URL``) except ``grant_view``, which the
publisher runs on the views it owns. Identifiers and literals are composed with ``psycopg.sql``,
never by string formatting.
"""

from __future__ import annotations

import os
import secrets

import psycopg
from psycopg import sql

from credit_platform.settings import DEFAULT_AIRFLOW_DB, paths
from credit_platform.warehouse import embedded, passfile
from credit_platform.warehouse.roles import AUTHORISED_GROUP, ROLES, recipient_role_name
from credit_platform.warehouse.urls import libpq_url


def airflow_database() -> str:
    return os.environ.get("CREDIT_AIRFLOW_DB", DEFAULT_AIRFLOW_DB)


def _connect(url: str, **kw) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=15, **kw)


def ensure_airflow_database(admin_url: str, name: str | None = None) -> bool:
    """Create Airflow's metadata database in the warehouse server, owned by ``credit_airflow``.

    Returns whether it was created. Only ``credit_airflow`` may connect to it.
    """
    name = name or airflow_database()
    owner = ROLES["airflow"].name
    with _connect(admin_url) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
            raise RuntimeError(f"role {owner} does not exist: run the warehouse migrations first")
        created = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        if created:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(owner)))
    return created


def drop_database(admin_url: str, name: str) -> None:
    with _connect(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(admin_url: str, name: str) -> None:
    with _connect(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def set_passwords(admin_url: str) -> list[str]:
    """Set each component role's password from ``CREDIT_<COMPONENT>_PASSWORD`` where it is set.

    Returns the roles whose password was set. Roles without a variable keep what they have.
    """
    done = []
    with _connect(admin_url) as conn:
        for r in ROLES.values():
            password = os.environ.get(r.password_env)
            if password:
                embedded.set_password(conn, r.name, password)
                done.append(r.name)
    return done


class RotationRefused(ValueError):
    """A role's new password cannot be chosen here (the message says what to do instead)."""


def check_rotation(components: list[str] | None, *, on_embedded: bool) -> None:
    """Raise ``RotationRefused`` when a role's new password is not the rotation's to choose (see
    ``rotate_passwords``). Run before the warehouse is even reached: on the embedded server, starting
    it with ``CREDIT_<COMPONENT>_PASSWORD`` set would itself give the role that password."""
    refused = []
    for r in (ROLES[c] for c in (components or list(ROLES))):
        given = os.environ.get(r.password_env)
        if on_embedded and given:
            refused.append(f"{r.name}: its password is set by {r.password_env}; change it there and run "
                           f"`credit-platform warehouse start`")  # fmt: skip
        elif not on_embedded and not given:
            refused.append(f"{r.name}: put its new password in {r.password_env} (.env) first")
    if refused:
        raise RotationRefused("nothing changed: " + "; ".join(refused))


def rotate_passwords(admin_url: str, components: list[str] | None = None) -> dict[str, str]:
    """Give component roles new passwords; returns where each role's new password is kept, by role.

    On the embedded server a new password is generated for each role and written to its password
    file. On any other server (``WAREHOUSE_URL``) the new password is the one the operator has put
    in ``CREDIT_<COMPONENT>_PASSWORD`` (the deployment's ``.env``); a role without one is refused
    before anything changes. On the embedded server, a role whose password is fixed by that
    variable is refused too: its password is the variable's, so that is where it changes. Every
    role changes in one transaction, as a SCRAM verifier computed here (no password reaches the
    server's log). Sessions already open stay open; new ones need the new password.
    """
    port = embedded.owns(admin_url)
    check_rotation(components, on_embedded=port is not None)
    chosen = [ROLES[c] for c in (components or list(ROLES))]
    new = {r.name: os.environ.get(r.password_env) or secrets.token_urlsafe(24) for r in chosen}
    with _connect(admin_url) as conn, conn.transaction():
        for name, password in new.items():
            embedded.set_password(conn, name, password)
    if port is None:
        return {r.name: r.password_env for r in chosen}
    store = paths().warehouse_passfile
    passfile.replace(store, port, new)
    return {name: str(store) for name in new}


def add_recipient(admin_url: str, slug: str, password: str | None = None) -> str:
    """Create the login role of an authorised recipient (e.g. a bank under 信易贷) in the group.

    The recipient then reads exactly the views granted to ``credit_authorised``. On the embedded
    server, where every login needs a password, one is generated when none is given and kept in
    ``.local/warehouse.pgpass`` with the others.
    """
    name = recipient_role_name(slug)
    password = password or embedded.remember_login(admin_url, name)
    with _connect(admin_url) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(AUTHORISED_GROUP), sql.Identifier(name)))
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    return name


def authorise(admin_url: str, slug: str, usccs: list[str], *, valid_from=None, valid_to=None,
              reference: str | None = None) -> int:
    """Record that each subject authorised the recipient to read its authorised-level results
    (依授权公开) from ``valid_from`` (default today) to ``valid_to`` (open when None). Returns the
    authorisations recorded."""
    from credit_platform import uscc as codes
    name = recipient_role_name(slug)
    bad = [u for u in usccs if not codes.has_valid_shape(u)]
    if bad:
        raise ValueError(f"not a unified social credit code: {', '.join(bad)}")
    with _connect(admin_url) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            raise ValueError(f"no recipient {slug!r}: add it first (credit-platform warehouse recipient add {slug})")
        done = 0
        for u in usccs:
            done += conn.execute(
                "INSERT INTO ops.recipient_authorisations (recipient_role, uscc, valid_from, valid_to, reference)"
                " VALUES (%s, %s, coalesce(%s, current_date), %s, %s) ON CONFLICT DO NOTHING",
                (name, u, valid_from, valid_to, reference),
            ).rowcount
    return done


def remove_recipient(admin_url: str, slug: str) -> str:
    name = recipient_role_name(slug)
    with _connect(admin_url) as conn:
        if conn.execute("SELECT to_regclass('ops.recipient_authorisations')").fetchone()[0]:
            conn.execute("DELETE FROM ops.recipient_authorisations WHERE recipient_role = %s", (name,))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
    embedded.forget_login(admin_url, name)
    return name


def grant_view(conn: psycopg.Connection, view: str, audience: str) -> None:
    """Let an audience read one view in ``publish``: ``public`` (完全公开) or ``authorised`` (依授权公开).

    Run by the publisher, who owns the view. Nothing in ``publish`` is readable by those roles
    until it is granted here.
    """
    grantee = {"public": ROLES["public_reader"].name, "authorised": AUTHORISED_GROUP}.get(audience)
    if grantee is None:
        raise ValueError("audience must be 'public' or 'authorised'")
    if audience == "public":
        # A public view is also readable by authorised recipients.
        grantees = sql.SQL(", ").join([sql.Identifier(grantee), sql.Identifier(AUTHORISED_GROUP)])
    else:
        grantees = sql.Identifier(grantee)
    conn.execute(
        sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier("publish", view), grantees)
    )

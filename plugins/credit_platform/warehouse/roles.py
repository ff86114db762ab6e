"""The database roles every component connects as, and the connection URL for each.

``WAREHOUSE_URL`` names the administrator (the owner who runs migrations). Each component
connects as its own role on the same server and database; its password comes from
``CREDIT_<COMPONENT>_PASSWORD`` where that is set (never from the repository), otherwise, on the
embedded server, from the password file the server generated (``.local/warehouse.pgpass``, or the
file ``PGPASSFILE`` names). Every URL built here therefore carries the password its server asks for.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True)
class Role:
    component: str  # short name used in settings: loader, transformer, ...
    name: str  # PostgreSQL role name
    purpose: str

    @property
    def password_env(self) -> str:
        return f"CREDIT_{self.component.upper()}_PASSWORD"

    @property
    def airflow_conn_id(self) -> str:
        return f"warehouse_{self.component}"


ROLES: dict[str, Role] = {
    r.component: r
    for r in (
        Role("airflow", "credit_airflow", "owns Airflow's metadata database"),
        Role("loader", "credit_loader", "writes raw and its ops tables (load batches, rejects)"),
        Role("transformer", "credit_transformer", "dbt: reads raw, writes staging, intermediate, marts"),
        Role("publisher", "credit_publisher", "reads marts, writes publish and publication records in ops"),
        Role("analyst", "credit_analyst", "reads marts"),
        Role("public_reader", "credit_public_reader", "reads only the public views in publish"),
    )
}

#: Group role (no login) that holds the grants of authorised recipients (依授权公开).
AUTHORISED_GROUP = "credit_authorised"
RECIPIENT_PREFIX = "credit_recipient_"
_RECIPIENT_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


def role(component: str) -> Role:
    try:
        return ROLES[component]
    except KeyError:
        raise ValueError(f"unknown component {component!r}; known: {', '.join(ROLES)}") from None


def recipient_role_name(slug: str) -> str:
    """The login role of one authorised recipient, e.g. ``bank_of_huairen`` -> ``credit_recipient_bank_of_huairen``."""
    if not _RECIPIENT_RE.match(slug):
        raise ValueError(
            f"recipient name {slug!r} must be 2-41 lower-case letters, digits or underscores, starting with a letter"
        )
    return RECIPIENT_PREFIX + slug


def admin_url() -> str:
    """The administrator URL: ``WAREHOUSE_URL`` or the embedded server (started if needed)."""
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    if url:
        return url
    from credit_platform.warehouse import embedded

    return embedded.ensure_started().url


def url_for(component: str, base_url: str | None = None, *, database: str | None = None) -> str:
    """The URL a component connects with: the administrator's host and database, its own user."""
    r = role(component)
    url = with_user(base_url or admin_url(), r.name, os.environ.get(r.password_env) or None)
    if database:
        url = url.set(database=database)
    return render(url)


def with_user(url: URL | str, username: str, password: str | None = None) -> URL:
    """The same server and database as another user (the other user's password is dropped).

    Without ``password``, the embedded server's password file (or ``PGPASSFILE``) supplies the
    user's, if it names that server (host and port) and user; any other server gets none, as before."""
    u = make_url(url) if isinstance(url, str) else url
    if password is None:
        password = stored_password(u.host, u.port, username)
    return URL.create(
        drivername=u.drivername,
        username=username,
        password=password,
        host=u.host,
        port=u.port,
        database=u.database,
        query=u.query,
    )


def stored_password(host: str | None, port: int | None, username: str) -> str | None:
    """The password kept for this user on this server: in the embedded server's password file, else
    in the libpq password file ``PGPASSFILE`` names (what libpq itself would send); None if neither has it."""
    from pathlib import Path

    from credit_platform.settings import paths
    from credit_platform.warehouse import passfile

    files = [paths().warehouse_passfile] + ([Path(os.environ["PGPASSFILE"])] if os.environ.get("PGPASSFILE") else [])
    for path in files:
        found = passfile.lookup(path, host, port, username)
        if found is not None:
            return found
    return None


def render(url: URL | str, *, driver: str | None = None) -> str:
    """A URL as text with its password (SQLAlchemy hides it by default), optionally with another driver."""
    u = make_url(url) if isinstance(url, str) else url
    if driver is not None:
        u = u.set(drivername=driver)
    return u.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A URL that libpq, psycopg and psql accept (no SQLAlchemy driver suffix)."""
    return render(url, driver="postgresql")

"""The connection URL of each warehouse role.

``WAREHOUSE_URL`` names the administrator (the owner who runs migrations). Each component
connects as its own role on the same server and database; its password comes from
``CREDIT_<COMPONENT>_PASSWORD`` where that is set (never from the repository), otherwise, on the
embedded server, from the password file the server generated (``.local/warehouse.pgpass``, or the
file ``PGPASSFILE`` names). Every URL built here therefore carries the password its server asks for.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, make_url

from credit_platform.warehouse.roles import role


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

"""Reading an HTTP service's address from an Airflow connection, the same way for every service."""

from __future__ import annotations


def http_base(conn) -> tuple[str, str | None, dict]:
    """(base URL, token, extra) of an Airflow connection (``airflow.sdk.Connection``): the host with
    or without ``http://`` (else the scheme from the schema field, default http), the port, the
    ``path`` in extra, and the token as the password or ``token`` in extra."""
    extra = conn.extra_dejson or {}
    host = conn.host or ""
    scheme = "" if "://" in host else f"{conn.schema or 'http'}://"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}{host}{port}{extra.get('path', '')}", conn.password or extra.get("token"), extra

"""Helpers for code that runs inside Airflow tasks. Import only inside task functions."""

from __future__ import annotations

from credit_platform.warehouse.roles import libpq_url, role


def warehouse_url(component: str) -> str:
    """The URL of the Airflow connection ``warehouse_<component>`` (e.g. ``warehouse_loader``)."""
    from airflow.sdk import Connection

    conn = Connection.get(role(component).airflow_conn_id)
    return libpq_url(conn.get_uri())


def skip_unless_loaded(results: list[dict]) -> dict:
    """Summarise load results; skip (so no asset event is emitted) when nothing new was loaded."""
    from airflow.exceptions import AirflowSkipException

    loaded = [r for r in results if r["status"] == "loaded"]
    summary = {
        "files": len(results),
        "loaded_files": len(loaded),
        "rows_in": sum(r["rows_in"] for r in loaded),
        "rows_loaded": sum(r["rows_loaded"] for r in loaded),
        "rows_rejected": sum(r["rows_rejected"] for r in loaded),
    }
    if not loaded:
        raise AirflowSkipException(f"nothing new was loaded ({len(results)} file(s) already loaded)")
    return summary


def pull_from_portal() -> dict:
    """Pull new province results from the credit portal, when the connection ``credit_portal`` exists."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from credit_platform.ingest.pull import CONN_ID, portal_from_connection, pull_province

    try:
        conn = Connection.get(CONN_ID)
    except AirflowNotFoundException:
        return {"pulled": False, "reason": f"no Airflow connection {CONN_ID!r}: province results arrive as files"}
    return {"pulled": True, **pull_province(warehouse_url("loader"), portal_from_connection(conn))}

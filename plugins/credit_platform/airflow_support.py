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

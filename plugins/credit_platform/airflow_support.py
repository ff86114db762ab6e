"""Helpers for code that runs inside Airflow tasks. Import only inside task functions."""

from __future__ import annotations

from credit_platform.warehouse.roles import libpq_url, role


def warehouse_url(component: str) -> str:
    """The URL of the Airflow connection ``warehouse_<component>`` (e.g. ``warehouse_loader``)."""
    from airflow.sdk import Connection

    conn = Connection.get(role(component).airflow_conn_id)
    return libpq_url(conn.get_uri())

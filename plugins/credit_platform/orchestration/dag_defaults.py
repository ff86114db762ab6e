"""Default task arguments of the DAGs (read when a DAG file is parsed: environment only, no I/O)."""

from __future__ import annotations

import os

import pendulum


def default_args(retries: int, retry_delay_minutes: float) -> dict:
    """Owner, retries and delay; ``CREDIT_TASK_RETRIES`` overrides the retries of every DAG (e.g. 0 in tests)."""
    override = os.environ.get("CREDIT_TASK_RETRIES", "").strip()
    return {
        "owner": "data-team",
        "retries": int(override) if override else retries,
        "retry_delay": pendulum.duration(minutes=retry_delay_minutes),
    }

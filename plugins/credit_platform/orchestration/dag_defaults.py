"""Default task arguments of the DAGs (read when a DAG file is parsed: environment only, no I/O)."""

from __future__ import annotations

import os

import pendulum


def default_args(retries: int, retry_delay_minutes: float, *, heavy: bool = False) -> dict:
    """Owner, retries and delay; ``CREDIT_TASK_RETRIES`` overrides the retries of every DAG (e.g. 0 in tests).
    A task that fails for good (its last try) alerts the data team (``credit_platform/alerts``).
    ``heavy`` (grading, publication): with ``CREDIT_HEAVY_QUEUE`` set, the tasks go to that Celery
    queue, served by workers sized for them (docker-compose.yml); unset, to Airflow's default queue."""
    from credit_platform.alerts.notifier import CreditAlertNotifier

    override = os.environ.get("CREDIT_TASK_RETRIES", "").strip()
    args = {
        "owner": "data-team",
        "retries": int(override) if override else retries,
        "retry_delay": pendulum.duration(minutes=retry_delay_minutes),
        "on_failure_callback": CreditAlertNotifier(),
    }
    queue = os.environ.get("CREDIT_HEAVY_QUEUE", "").strip()
    if heavy and queue:
        args["queue"] = queue
    return args

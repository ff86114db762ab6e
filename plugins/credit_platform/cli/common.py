"""What every command group shares: messages to standard error, and the warehouse set up before a
command that needs it.

Messages go to standard error; standard output carries only what a command is asked to print.
"""

from __future__ import annotations

import os
import sys
import time


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def using_embedded() -> bool:
    return not os.environ.get("WAREHOUSE_URL", "").strip()


def setup_warehouse() -> str:
    """Start (if embedded), migrate, create Airflow's database and set role passwords. Returns the admin URL."""
    from credit_platform.warehouse import access, migrate
    from credit_platform.warehouse.urls import admin_url

    t0 = time.monotonic()
    url = admin_url()
    outcome = migrate.migrate(url)
    created = access.ensure_airflow_database(url)
    pw = access.set_passwords(url)
    where = "embedded server" if using_embedded() else "WAREHOUSE_URL"
    say(
        f"warehouse ready ({where}, {time.monotonic() - t0:.1f} s): "
        f"{len(outcome.applied)} migration(s) applied, {len(outcome.already)} already there"
        + ("; created Airflow's database" if created else "")
        + (f"; passwords set for {', '.join(pw)}" if pw else "")
    )
    return url

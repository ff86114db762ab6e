"""Run dbt against the warehouse as the transformer role, outside Airflow (CLI, tests, make targets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from credit_platform.settings import paths
from credit_platform.warehouse.urls import admin_url, url_for


def manifest_path() -> Path:
    """The manifest ``make`` compiles (``dbt parse``) and Cosmos renders the grading DAG from."""
    return paths().dbt_project / "target" / "manifest.json"


def dbt_env(base_url: str | None = None) -> dict[str, str]:
    """The variables ``dbt_project/profiles.yml`` reads, for the transformer role."""
    u = make_url(url_for("transformer", base_url or admin_url()))
    env = {
        "CREDIT_DBT_HOST": u.host or "127.0.0.1",
        "CREDIT_DBT_PORT": str(u.port or 5432),
        "CREDIT_DBT_USER": u.username or "credit_transformer",
        "CREDIT_DBT_DBNAME": u.database or "credit",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    if u.password:
        env["CREDIT_TRANSFORMER_PASSWORD"] = u.password
    return env


def run_dbt(args: list[str], *, base_url: str | None = None, check: bool = False, capture: bool = False,
            project: Path | None = None, env: dict[str, str] | None = None):
    """dbt ``args`` on ``project`` (default: the checkout's) as the transformer; ``env`` adds variables."""
    project = project or paths().dbt_project
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt) if dbt.exists() else "dbt", *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    return subprocess.run(
        cmd,
        env={**os.environ, **dbt_env(base_url), **(env or {})},
        cwd=project,
        check=check,
        capture_output=capture,
        text=True,
    )

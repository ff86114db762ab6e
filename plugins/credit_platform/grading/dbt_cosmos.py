"""How Cosmos renders and runs the dbt project inside Airflow (imported by the grading DAG file).

The project is rendered from ``dbt_project/target/manifest.json``, compiled ahead by ``make``
(``credit-platform dbt parse``), so parsing the DAG file runs no dbt. dbt connects through the
Airflow connection ``warehouse_transformer``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from credit_platform.grading.dbt_runner import manifest_path
from credit_platform.settings import paths
from credit_platform.warehouse.roles import role


class PostgresProfileMapping(PostgresUserPasswordProfileMapping):
    """Cosmos' Postgres mapping, also for a connection without a password (the embedded
    warehouse trusts local connections): the password is then empty instead of refused."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str):
        value = super().get_dbt_value(name)
        if name == "password" and value is None:
            return ""
        return value


def configs() -> dict:
    project = paths().dbt_project
    dbt = Path(sys.executable).parent / "dbt"
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project,
            manifest_path=manifest_path(),
            project_name="credit_platform",
            install_dbt_deps=False,
            env_vars={"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"},
        ),
        "profile_config": ProfileConfig(
            profile_name="credit_platform",
            target_name="warehouse",
            profile_mapping=PostgresProfileMapping(
                conn_id=role("transformer").airflow_conn_id, profile_args={"schema": "staging"}
            ),
        ),
        "execution_config": ExecutionConfig(
            dbt_executable_path=str(dbt) if dbt.exists() else "dbt",
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        # Each model's task is a dbt invocation whose own work is often a tenth of a second; what it
        # costs around that is cut here. Measured: one invocation 0.45 s -> 0.25 s on a quiet machine,
        # about 3 s -> 1 s on a loaded one (the JSON is CPU-bound); the grading DAG of the tests' city
        # of 2,000 subjects 83 s -> 74 s, of the demo city about 2x faster under load.
        # No per-model Airflow assets: nothing is scheduled on them (grading's own asset is
        # `validated_industry_credit_grades`), and computing them parses dbt's artifacts twice a task.
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False
        ),
        "operator_args": {
            # dbt would write manifest.json and run_results.json twice a task (about 1 s of JSON for
            # a project this size) and list every relation of every schema before running one model.
            "dbt_cmd_flags": ["--no-write-json", "--no-populate-cache"],
        },
    }

"""How Cosmos renders and runs the dbt project inside Airflow (imported by the grading DAG file).

The project is rendered from ``dbt_project/target/manifest.json``, compiled ahead by ``make``
(``credit-platform dbt parse``), so parsing the DAG file runs no dbt. dbt connects through the
Airflow connection ``warehouse_transformer``. The seeds and staging views (about 40 nodes, each a
tenth of a second of work) are built by one task with their tests; each intermediate model, mart
and the snapshot is a task of its own, and the other tests run after all of them.
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


# Seeds and staging views are many (about 40) and each takes a tenth of a second to build: one dbt
# invocation builds them all, with the tests on them alone (cautious: every parent selected),
# instead of one task and one dbt start-up each. Intermediate models, marts and the snapshot keep
# a task each; the test task after them runs every test touching one of them (eager), which with
# the first task's covers every test once (tests/dags/test_dag_integrity.py).
UPSTREAM = ["resource_type:seed", "path:models/staging"]
DOWNSTREAM = ["path:models/intermediate", "path:models/marts", "path:snapshots"]
ENV = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
FLAGS = ["--no-write-json", "--no-populate-cache"]


def _profile() -> ProfileConfig:
    return ProfileConfig(
        profile_name="credit_platform",
        target_name="warehouse",
        profile_mapping=PostgresProfileMapping(
            conn_id=role("transformer").airflow_conn_id, profile_args={"schema": "staging"}
        ),
    )


def _dbt() -> str:
    dbt = Path(sys.executable).parent / "dbt"
    return str(dbt) if dbt.exists() else "dbt"


def seeds_and_staging(group_cache: str, task_id: str = "dbt_seeds_and_staging", **kwargs):
    """One task that builds every seed and staging view and runs the tests on them alone (dbt's
    unit tests are on later models, and run in the task group's test task). It shares the task group's
    Cosmos cache (``<dag_id>__<group_id>``), so that dbt parses the project partially, as they do."""
    from cosmos import settings
    from cosmos.operators.local import DbtBuildLocalOperator

    return DbtBuildLocalOperator(
        cache_dir=Path(settings.cache_dir) / group_cache if settings.enable_cache else None,
        task_id=task_id,
        project_dir=str(paths().dbt_project),
        profile_config=_profile(),
        select=" ".join(UPSTREAM),
        indirect_selection="cautious",
        dbt_executable_path=_dbt(),
        invocation_mode=InvocationMode.DBT_RUNNER,
        install_deps=False,
        env=ENV,
        dbt_cmd_flags=[*FLAGS, "--exclude-resource-type", "unit_test"],
        emit_datasets=False,
        **kwargs,
    )


def configs() -> dict:
    project = paths().dbt_project
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project,
            manifest_path=manifest_path(),
            project_name="credit_platform",
            install_dbt_deps=False,
            env_vars=ENV,
        ),
        "profile_config": _profile(),
        "execution_config": ExecutionConfig(
            dbt_executable_path=_dbt(),
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        # Each model's task is a dbt invocation whose own work is often a tenth of a second; what it
        # costs around that is cut here. Measured: one invocation 0.45 s -> 0.25 s on a quiet machine,
        # about 3 s -> 1 s on a loaded one (the JSON is CPU-bound); the grading DAG of the tests' city
        # of 2,000 subjects 83 s -> 74 s, of the demo city about 2x faster under load.
        # No per-model Airflow assets: nothing is scheduled on them (grading's own asset is
        # `validated_industry_credit_grades`), and computing them parses dbt's artifacts twice a task.
        # The seeds and staging views are built by seeds_and_staging(), upstream of the task group.
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False,
            select=DOWNSTREAM,
        ),
        "operator_args": {
            # dbt would write manifest.json and run_results.json twice a task (about 1 s of JSON for
            # a project this size) and list every relation of every schema before running one model.
            "dbt_cmd_flags": FLAGS,
            # The DAG's `full_refresh` param: the incremental models (by period) built from scratch.
            "full_refresh": "{{ params.full_refresh | default(false) }}",
        },
    }

"""dbt connects to the warehouse as the transformer role, from environment variables only."""

import shutil

import pytest

from credit_platform.grading.dbt_runner import dbt_env, run_dbt
from credit_platform.settings import paths

pytestmark = [pytest.mark.integration, pytest.mark.server_version]


def test_dbt_debug_connects_as_the_transformer(warehouse):
    assert dbt_env(warehouse)["CREDIT_DBT_USER"] == "credit_transformer"
    res = run_dbt(["debug"], base_url=warehouse, capture=True)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "Connection test: [OK connection ok]" in res.stdout.replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert "user: credit_transformer" in res.stdout


def test_dbt_parse_succeeds(warehouse, tmp_path):
    # in a copy: a parse rewrites target/, which the grading DAG of a test running alongside reads
    project = tmp_path / "dbt_project"
    shutil.copytree(paths().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs"))
    res = run_dbt(["parse"], base_url=warehouse, capture=True, project=project)
    assert res.returncode == 0, res.stdout[-3000:]

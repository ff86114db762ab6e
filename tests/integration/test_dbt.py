"""dbt connects to the warehouse as the transformer role, from environment variables only."""

import pytest

from credit_platform.grading.dbt_runner import dbt_env, run_dbt

pytestmark = pytest.mark.integration


def test_dbt_debug_connects_as_the_transformer(warehouse):
    assert dbt_env(warehouse)["CREDIT_DBT_USER"] == "credit_transformer"
    res = run_dbt(["debug"], base_url=warehouse, capture=True)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "Connection test: [OK connection ok]" in res.stdout.replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert "user: credit_transformer" in res.stdout


def test_dbt_parse_succeeds(warehouse):
    res = run_dbt(["parse"], base_url=warehouse, capture=True)
    assert res.returncode == 0, res.stdout[-3000:]

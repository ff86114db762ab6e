"""Real Airflow against the real warehouse: a DAG run with `airflow dags test`, and the services
that `make airflow` starts (API server, scheduler, DAG processor, triggerer) on a spare port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent


def _airflow(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "airflow"), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def migrated_airflow(airflow_test_env):
    return airflow_test_env  # migrated by the fixture


def test_platform_health_dag_runs_as_the_component_roles(migrated_airflow):
    res = _airflow(["dags", "test", "platform_health"], migrated_airflow)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "state=success" in out and "Returned value was: {'components': 5}" in out


def test_platform_health_task_fails_when_a_role_has_a_stray_grant(migrated_airflow, warehouse):
    """`airflow tasks test` runs the one task once (a DAG run would wait out the retry delay)."""
    import psycopg

    from credit_platform.warehouse.urls import libpq_url

    with psycopg.connect(libpq_url(warehouse), autocommit=True) as admin:
        admin.execute("GRANT CREATE ON SCHEMA marts TO credit_analyst")
        try:
            res = _airflow(["tasks", "test", "platform_health", "role_boundaries"], migrated_airflow)
        finally:
            admin.execute("REVOKE CREATE ON SCHEMA marts FROM credit_analyst")
    out = res.stdout + res.stderr
    # `tasks test` exits 0 whatever the task did; the task's own log says how it ended
    assert "Task failed with exception" in out and "new_state=up_for_retry" in out
    assert "HealthError" in out and "analyst: schema privileges" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_airflow_services_start_report_a_login_and_stop(migrated_airflow):
    port = _free_port()
    env = {**os.environ, **migrated_airflow, "CREDIT_AIRFLOW_PORT": str(port)}
    env.pop("AIRFLOW_HOME", None)  # as `make airflow` does: the home under CREDIT_LOCAL_DIR
    cp = str(BIN / "credit-platform")
    run_dir = Path(env["CREDIT_LOCAL_DIR"]) / "run"
    try:
        start = subprocess.run([cp, "airflow", "start", "--timeout", "240"], env=env, capture_output=True, text=True)
        assert start.returncode == 0, start.stderr[-4000:] + "\n" + _logs(run_dir)
        assert "Airflow is up after" in start.stderr and f"http://127.0.0.1:{port}" in start.stderr
        assert "log in as 'admin' with password '" in start.stderr

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10) as resp:
            health = resp.read().decode()
        for component in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
            assert component in health
        pids = {p.stem: int(p.read_text()) for p in run_dir.glob("*.pid")}
        assert set(pids) == {"api-server", "scheduler", "dag-processor", "triggerer"}
        assert all(_alive(pid) for pid in pids.values())
    finally:
        stop = subprocess.run([cp, "airflow", "stop"], env=env, capture_output=True, text=True)
    assert stop.returncode == 0, stop.stderr
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in pids.values()), "a service outlived `airflow stop`"
    assert not list(run_dir.glob("*.pid"))


def _logs(run_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in run_dir.glob("*.log"))

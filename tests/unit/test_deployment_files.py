"""docker-compose.yml and .env.example: valid, complete, and free of secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_has_postgres_and_every_airflow_3_service():
    services = _compose()["services"]
    assert {"postgres", "credit-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer"} <= set(services)
    commands = {name: " ".join(s.get("command", [])) for name, s in services.items()}
    assert "api-server" in commands["airflow-apiserver"]
    assert commands["airflow-dag-processor"].endswith("dag-processor")


def test_compose_runs_celery_workers_on_two_queues_and_checks_every_service():
    compose = _compose()
    services = compose["services"]
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:${REDIS_PASSWORD")
    assert env["CREDIT_HEAVY_QUEUE"] == "${CREDIT_HEAVY_QUEUE:-heavy}"
    workers = {name: " ".join(s["command"]) for name, s in services.items() if "celery worker" in " ".join(
        s.get("command", []))}  # fmt: skip
    assert workers == {"airflow-worker": "airflow celery worker --queues default --concurrency"
                                         " ${CREDIT_WORKER_CONCURRENCY:-4}",
                       "airflow-worker-heavy": "airflow celery worker --queues ${CREDIT_HEAVY_QUEUE:-heavy}"
                                               " --concurrency ${CREDIT_HEAVY_CONCURRENCY:-1}"}  # fmt: skip
    long_running = set(services) - {"credit-init"}
    assert {name for name in long_running if "healthcheck" not in services[name]} == set()
    assert set(compose["volumes"]) >= {"postgres-data", "airflow-logs", "credit-local", "credit-inbox",
                                       "credit-archive", "credit-outbox"}


def test_compose_holds_no_secret_values():
    """Every password, key and secret is an interpolation from .env, never a literal."""
    secretish = re.compile(r"(PASSWORD|SECRET|FERNET|_CONN_|SQL_ALCHEMY_CONN|WAREHOUSE_URL)")
    literal = []
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secretish.search(key) and value and "${" not in str(value):
                literal.append(f"{name}.{key}")
            # a URL's password part must come from a variable
            for m in re.finditer(r"://[^:/@]+:([^@]+)@", str(value)):
                if not m.group(1).startswith("${"):
                    literal.append(f"{name}.{key}")
    assert literal == []


def test_every_variable_compose_uses_is_in_env_example():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), flags=re.M))
    assert used - documented == set()


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="Debian's docker-compose is not installed (make test installs it where apt-get can run as root)",
)
def test_docker_compose_accepts_the_file(tmp_path):
    ok = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True,
    )
    assert ok.returncode == 0, ok.stderr
    # without the secrets it refuses to start, naming what is missing
    empty = tmp_path / "empty.env"
    empty.write_text("")
    bare = subprocess.run(
        ["docker-compose", "--env-file", str(empty), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True,
    )
    assert bare.returncode != 0 and "set POSTGRES_PASSWORD in .env" in bare.stderr


def _local_airflow_env(monkeypatch, tmp_path) -> dict:
    from credit_platform.local.airflow_env import airflow_env

    monkeypatch.setenv("CREDIT_LOCAL_DIR", str(tmp_path / "local"))
    for name in ("AIRFLOW_HOME", "AIRFLOW__CORE__DEFAULT_TIMEZONE", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"):
        monkeypatch.delenv(name, raising=False)
    return airflow_env(base_url="postgresql://postgres:pw@127.0.0.1:1/credit", airflow_db="airflow", port=18080)


def test_airflow_runs_every_dag_on_its_schedule_in_the_city_time_zone_here_and_in_compose(monkeypatch, tmp_path):
    """`make airflow` and docker-compose.yml both: times in Asia/Shanghai, DAGs unpaused once parsed
    (the ingests hourly, the health check daily, the rest on their assets, as dags/README.md says)."""
    from credit_platform.local.airflow_env import PLATFORM_SETTINGS

    wanted = {"AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
    assert PLATFORM_SETTINGS == wanted
    env = _local_airflow_env(monkeypatch, tmp_path)
    assert {k: env.get(k) for k in wanted} == wanted
    compose = _compose()
    for name, service in compose["services"].items():
        if name.startswith("airflow-") or name == "credit-init":
            assert {k: str(service["environment"].get(k)) for k in wanted} == wanted, name


def test_airflow_reads_the_settings_as_meant(monkeypatch, tmp_path):
    """Airflow itself, given the local environment, reads them (a misspelt key would read as its default),
    and its task logs go to the folder under AIRFLOW_HOME that the UI reads and `make demo` shares."""
    env = {**os.environ, **_local_airflow_env(monkeypatch, tmp_path)}
    airflow = str(Path(sys.executable).parent / "airflow")

    def value(section: str, key: str) -> str:
        res = subprocess.run([airflow, "config", "get-value", section, key], env=env, capture_output=True, text=True,
                             timeout=120)  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout.strip()

    assert value("core", "default_timezone") == "Asia/Shanghai"
    assert value("core", "dags_are_paused_at_creation") == "False"
    assert value("logging", "base_log_folder") == str(Path(env["AIRFLOW_HOME"]) / "logs")
    # the layout credit_platform/local/chain.py LOG_FILENAME writes the demo's task logs in
    assert value("logging", "log_filename_template") == (
        "dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
        "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
        "attempt={{ try_number|default(ti.try_number) }}.log")

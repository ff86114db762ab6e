"""A real Celery worker: Airflow's scheduler hands the ingest and grading DAGs' tasks to two Celery
workers on this machine (Redis at 127.0.0.1:6379 as the broker), one per queue as docker-compose.yml
runs them, and the warehouse ends as `airflow dags test` leaves a copy of it given the same files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import REDIS, department_file, make_airflow_env, redis_answers
from sql import rows
from sqlalchemy.engine import make_url

from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
PENALTY = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_files(city: dict) -> list[str]:
    """Two departments' penalty files for graded subjects: what the ingest loads and grading grades."""
    subjects = [u for (u,) in rows(city["admin"], "SELECT uscc FROM marts.dim_subjects ORDER BY uscc LIMIT 4")]
    scjgj = [["甲", subjects[0], "警告", "2025-09-01"], ["乙", subjects[1], "罚款", "2025-10-02"]]
    zjj = [["丙", subjects[2], "警告", "2025-11-03"], ["丁", subjects[3], "警告", "2025-11-04"]]
    return [department_file(city, "scjgj", "penalties_worker.csv", PENALTY, scjgj),
            department_file(city, "zjj", "penalties_worker.csv", PENALTY, zjj)]


def _outcome(city: dict) -> dict:
    """What the two runs must agree on: the new batches, and every grade with its score."""
    batches = rows(city["admin"], "SELECT source_file, status, rows_in, rows_loaded, rows_rejected"
                                  " FROM ops.load_batches WHERE source_file LIKE %s ORDER BY 1",
                   ("%penalties_worker%",))  # fmt: skip
    grades = rows(city["admin"], "SELECT md5(string_agg(concat_ws('|', uscc, industry_code, evaluation_period, score,"
                                 " grade), ',' ORDER BY uscc, industry_code, evaluation_period)), count(*)"
                                 " FROM marts.fct_industry_credit_grades")  # fmt: skip
    return {"batches": batches, "grades": grades[0]}


def _airflow(args: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def _meta(env: dict) -> str:
    return libpq_url(make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).set(drivername="postgresql"))


@pytest.mark.timeout(1500)
@pytest.mark.skipif(not redis_answers(), reason="no Redis answers on 127.0.0.1:6379: the Celery worker test needs"
                                                 " one (these machines run it; make test runs this test there)")
def test_the_ingest_and_grading_run_on_celery_workers_as_dags_test_runs_them(graded_city, airflow_test_env, airflow_db,
                                                                            tmp_path):  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    default_q, heavy_q = f"credit_test_{tag}_default", f"credit_test_{tag}_heavy"
    with graded_city("celery") as city, graded_city("celery_ref") as ref:
        _new_files(city)
        _new_files(ref)

        # The reference: the same files through `airflow dags test`, in-process.
        ref_env = make_airflow_env(ref["url"], airflow_db, tmp_path / "ref_local",
                                   CREDIT_INBOX=str(ref["inbox"]), CREDIT_ARCHIVE=str(ref["archive"]),
                                   CREDIT_OUTBOX=str(tmp_path / "ref_outbox"))  # fmt: skip
        for dag_id in ("ingest_departments", "grade_industries"):
            res = _airflow(["dags", "test", dag_id], ref_env)
            assert "state=success" in res.stdout + res.stderr, (res.stdout + res.stderr)[-4000:]

        # The deployment's way: scheduler, DAG processor, API server (the workers' execution API), and
        # two Celery workers, one per queue.
        port = _free_port()
        env = make_airflow_env(city["url"], airflow_db, tmp_path / "local",
                               CREDIT_INBOX=str(city["inbox"]), CREDIT_ARCHIVE=str(city["archive"]),
                               CREDIT_OUTBOX=str(tmp_path / "outbox"),
                               AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
                               AIRFLOW__CELERY__BROKER_URL=f"redis://{REDIS[0]}:{REDIS[1]}/0",
                               AIRFLOW__CELERY__RESULT_BACKEND="db+" + make_url(ref_env[
                                   "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).render_as_string(hide_password=False),
                               AIRFLOW__OPERATORS__DEFAULT_QUEUE=default_q, CREDIT_HEAVY_QUEUE=heavy_q,
                               AIRFLOW__API__PORT=str(port), AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
                               AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
                               AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
                               AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5")  # fmt: skip
        logs = tmp_path / "logs"
        logs.mkdir()
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(port)],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "worker-default": ["celery", "worker", "--queues", default_q, "--concurrency", "2", "--skip-serve-logs",
                               "--celery-hostname", f"default_{tag}@%h", "--without-mingle", "--without-gossip"],
            "worker-heavy": ["celery", "worker", "--queues", heavy_q, "--concurrency", "1", "--skip-serve-logs",
                             "--celery-hostname", f"heavy_{tag}@%h", "--without-mingle", "--without-gossip"],
        }  # fmt: skip
        procs = {}
        started = time.monotonic()
        try:
            for name, args in commands.items():
                procs[name] = subprocess.Popen([str(BIN / "airflow"), *args], env={**os.environ, **env},
                                               stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT,
                                               start_new_session=True)  # fmt: skip
            meta = _meta(env)
            deadline = time.monotonic() + 240
            while True:  # the DAG processor has parsed both DAGs, and the API server answers
                with psycopg.connect(meta) as conn:
                    parsed = {d for (d,) in conn.execute("SELECT dag_id FROM dag WHERE dag_id IN"
                                                         " ('ingest_departments', 'grade_industries')")}
                if len(parsed) == 2 and _answers(f"http://127.0.0.1:{port}/api/v2/monitor/health"):
                    break
                assert time.monotonic() < deadline, _tails(logs)
                assert all(p.poll() is None for p in procs.values()), _tails(logs)
                time.sleep(2)
            print(f"Celery deployment up after {time.monotonic() - started:.1f} s; resident memory (MiB):",
                  json.dumps(_memory(procs)))  # reported by the closing note: make test's log shows it with -s
            for dag_id in ("grade_industries", "ingest_departments"):
                res = _airflow(["dags", "unpause", dag_id], env)
                assert res.returncode == 0, res.stderr[-2000:]
            with psycopg.connect(meta) as conn:  # only this test's runs count: none queued by earlier ones
                conn.execute("DELETE FROM asset_dag_run_queue WHERE target_dag_id = 'grade_industries'")
                before = conn.execute("SELECT coalesce(max(id), 0) FROM dag_run").fetchone()[0]
            res = _airflow(["dags", "trigger", "ingest_departments"], env)
            assert res.returncode == 0, res.stderr[-2000:]
            # The ingest's asset event queues grading; both must end in success.
            ingest = _wait_for_run(meta, "ingest_departments", before, procs, logs)
            assert ingest[1] == "success", _tails(logs)
            grading = _wait_for_run(meta, "grade_industries", ingest[0], procs, logs)
            assert grading[1] == "success", _tails(logs)
            with psycopg.connect(meta) as conn:
                tis = conn.execute(
                    "SELECT ti.dag_id, ti.queue, ti.state, ti.external_executor_id IS NOT NULL FROM task_instance ti"
                    "  JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE r.id > %s",
                    (before,)).fetchall()  # fmt: skip
        finally:
            for p in procs.values():
                try:
                    os.killpg(p.pid, 15)
                except ProcessLookupError:
                    pass
            for p in procs.values():
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)

        ran = [t for t in tis if t[2] == "success"]
        assert ran and all(t[3] for t in ran), "every task that ran was sent through Celery (a Celery task id)"
        assert {t[1] for t in ran if t[0] == "ingest_departments"} == {default_q}
        assert {t[1] for t in ran if t[0] == "grade_industries"} == {heavy_q}
        worker_logs = {name: (logs / f"{name}.log").read_text(errors="replace")
                       for name in ("worker-default", "worker-heavy")}  # fmt: skip
        assert "ingest_departments" in worker_logs["worker-default"], _tails(logs)
        assert "grade_industries" in worker_logs["worker-heavy"], _tails(logs)
        assert "grade_industries" not in worker_logs["worker-default"]

        assert _outcome(city) == _outcome(ref)


def _wait_for_run(meta: str, dag_id: str, after: int, procs: dict, logs: Path, timeout: float = 900) -> tuple:
    """The first run of ``dag_id`` made after run id ``after``, once it has finished: (id, state)."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(meta) as conn:
            run = conn.execute("SELECT id, state FROM dag_run WHERE dag_id = %s AND id > %s ORDER BY id LIMIT 1",
                               (dag_id, after)).fetchone()  # fmt: skip
        if run and run[1] in ("success", "failed"):
            return run
        assert time.monotonic() < deadline, f"{dag_id}: {run}\n{_tails(logs)}"
        assert all(p.poll() is None for p in procs.values()), _tails(logs)
        time.sleep(3)


def _memory(procs: dict) -> dict[str, int]:
    """Resident memory of each service with its children (Celery's pool, gunicorn's workers), in MiB."""
    import psutil

    out = {}
    for name, p in procs.items():
        try:
            tree = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
            out[name] = round(sum(q.memory_info().rss for q in tree) / 2**20)
        except psutil.NoSuchProcess:
            out[name] = 0
    out["total"] = sum(out.values())
    return out


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _tails(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(logs.glob("*.log")))

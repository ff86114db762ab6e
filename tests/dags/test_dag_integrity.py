"""DAG integrity: every DAG file imports, each DAG is documented and owned, and parsing does no work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
GUARD = Path(__file__).with_name("parse_guard.py")
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_there_are_dag_files():
    assert DAG_FILES, "dags/ holds no DAG file"


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_every_dag_file_defines_a_dag(dagbag, path):
    assert any(Path(d.fileloc).name == path.name for d in dagbag.dags.values()), f"{path.name} defines no DAG"


def test_every_dag_is_tagged_owned_retried_and_documented(dagbag):
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        if not (dag.doc_md or "").strip():
            problems.append(f"{dag_id}: no doc_md")
        for t in dag.tasks:
            if t.owner in (None, "", "airflow"):
                problems.append(f"{dag_id}.{t.task_id}: owner is {t.owner!r}")
            if (t.retries or 0) < 1:
                problems.append(f"{dag_id}.{t.task_id}: retries {t.retries}")
    assert problems == []


def _parse_guarded(folder: Path) -> dict:
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # a metadata database that cannot exist: any attempt to use one fails
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://nobody@127.0.0.1:9/none",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
    }
    res = subprocess.run(
        [sys.executable, str(GUARD), str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_parsing_opens_no_connection_and_reads_no_variable():
    result = _parse_guarded(DAGS)
    assert result["errors"] == {}
    assert all(result["dag_ids"][p.name] for p in DAG_FILES)


BAD_DAGS = {
    "reads_variable.py": """
from airflow.sdk import Variable, dag
LIMIT = Variable.get("inspection_limit")

@dag(schedule=None, tags=["x"])
def reads_variable():
    pass

reads_variable()
""",
    "queries_warehouse.py": """
import psycopg
from airflow.sdk import dag
ROWS = psycopg.connect("postgresql://credit_loader@127.0.0.1:54329/credit").execute("SELECT 1").fetchall()

@dag(schedule=None, tags=["x"])
def queries_warehouse():
    pass

queries_warehouse()
""",
    "uses_connection.py": """
from airflow.sdk import Connection, dag
URI = Connection.get("warehouse_loader").get_uri()

@dag(schedule=None, tags=["x"])
def uses_connection():
    pass

uses_connection()
""",
}


def test_the_guard_catches_parse_time_access(tmp_path):
    """The guard itself can fail: DAG files that do work at parse time are reported."""
    for name, text in BAD_DAGS.items():
        (tmp_path / name).write_text(text)
    shutil.copy(DAG_FILES[0], tmp_path / DAG_FILES[0].name)
    result = _parse_guarded(tmp_path)
    assert set(result["errors"]) == set(BAD_DAGS)
    assert all("DAG-parse-time access refused" in e for e in result["errors"].values())
    assert result["dag_ids"][DAG_FILES[0].name], "a good DAG file still parses beside the bad ones"


def test_grading_runs_one_dbt_task_per_node_without_per_task_waste(dagbag):
    """The seeds and staging views in one task (with their tests), then one task per intermediate
    model, mart and snapshot, the other tests after all; each dbt invocation writes no JSON
    artifacts, lists no relations up front and emits no per-model asset (see dbt_cosmos.py)."""
    from credit_platform.grading.dbt_runner import manifest_path

    dag = dagbag.dags["grade_industries"]
    manifest = json.loads(manifest_path().read_text(encoding="utf-8"))
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]
    upstream = {n["name"] for n in nodes if n["resource_type"] == "seed" or n["original_file_path"].startswith(
        "models/staging/")}  # fmt: skip
    rendered = {t.task_id.removeprefix("dbt.").rsplit("_", 1)[0] for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert rendered == {n["name"] for n in nodes} - upstream | {"dbt_project"}  # dbt_project_test: the tests
    first = dag.task_dict["dbt_seeds_and_staging"]
    assert first.select == "resource_type:seed path:models/staging" and first.indirect_selection == "cautious"
    assert {t.task_id for t in dag.tasks if not t.upstream_task_ids} == {"dbt_seeds_and_staging"}
    # the tests after all: those touching a later node (the first task ran those on its nodes alone)
    assert dag.task_dict["dbt.dbt_project_test"].select == "path:models/intermediate path:models/marts path:snapshots"
    # Together every test runs once: a test's parents are all seeds or staging (first task,
    # cautious) or one is a later node (eager), as long as every node lives in one of these paths.
    paths = ("models/staging/", "models/intermediate/", "models/marts/", "snapshots/", "seeds/")
    assert all(n["original_file_path"].startswith(paths) for n in nodes), "a node outside the rendered paths"
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert tests and all(n["depends_on"]["nodes"] for n in tests), "a test without a parent would run in neither"
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt")]
    for t in dbt_tasks:
        assert {"--no-write-json", "--no-populate-cache"} <= set(t.dbt_cmd_flags), t.task_id
        assert t.emit_datasets is False, t.task_id


def test_every_task_alerts_the_team_when_it_fails(dagbag):
    from credit_platform.alerts.notifier import CreditAlertNotifier

    silent = []
    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            if not any(isinstance(c, CreditAlertNotifier) for c in callbacks):
                silent.append(f"{dag_id}.{t.task_id}")
    assert silent == []


def test_grading_and_publication_go_to_the_heavy_queue_when_one_is_set():
    """With CREDIT_HEAVY_QUEUE (docker-compose sets `heavy`), grading's and publication's tasks go to
    that Celery queue and every other task to the default one; unset, every task to the default."""
    script = ("import json, sys; from airflow.dag_processing.dagbag import DagBag;"
              " b = DagBag(dag_folder=sys.argv[1]);"
              " print(json.dumps({d: sorted({t.queue for t in dag.tasks}) for d, dag in b.dags.items()}))")  # fmt: skip
    queues = {}
    for value in ("heavy", ""):
        env = {**os.environ, "CREDIT_HEAVY_QUEUE": value, "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
               "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
        res = subprocess.run([sys.executable, "-c", script, str(DAGS)], env=env, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        queues[value] = json.loads(res.stdout.strip().splitlines()[-1])
    heavy = {d for d, q in queues["heavy"].items() if q == ["heavy"]}
    assert heavy == {"grade_industries", "publish_grades"}
    assert all(q == ["default"] for d, q in queues["heavy"].items() if d not in heavy)
    assert all(q == ["default"] for q in queues[""].values())

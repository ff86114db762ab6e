"""The raw quality gate fails closed and survives a crash.

A gate query cancelled on the server fails the checkpoint: the batch is held (status ``landed``,
not passed), the error is in ``ops.validation_runs`` and on the batch, and the next gate decides
it. A load killed (SIGKILL) after its COPY committed, during its gate or after it leaves its
batches out of staging until a rerun of the department's ingest task has gated them; then only
the batch that passed feeds staging (the dbt macro ``raw_rows``, compiled by dbt here). A province
push killed before its gate is pending again and its load gates the batch without loading it
again; a rebuild gates what no gate decided; the migration keeps gated batches and holds the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from credit_platform import uscc
from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest import gate as ingest_gate
from credit_platform.ingest import loader
from credit_platform.quality.checkpoints import ValidationFailed, run_checkpoint
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 15)
DEPT = "scjgj"
CF = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_XDR_GSZC", "CF_XDR_ZJHM", "CF_WSH", "CF_CFLB", "CF_NR_FK",
      "CF_JDRQ", "CF_GSJZQ", "CF_CFJG"]  # fmt: skip
CANCELLED = "canceling statement due to user request"


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("gatecrash") as url:
        yield url


@pytest.fixture(scope="module")
def staged_sql(db, tmp_path_factory) -> str:
    """The batches staging takes from raw.penalties: the real macro ``raw_rows``, compiled by dbt."""
    out = tmp_path_factory.mktemp("compiled")
    res = run_dbt(["compile", "--quiet", "--target-path", str(out), "--inline",
                   "select distinct batch_id from {{ raw_rows('penalties') }}"], base_url=db, capture=True)  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return res.stdout.strip()


def _staged(db: str, staged_sql: str) -> set[int]:
    with psycopg.connect(libpq_url(db)) as conn:
        return {b for (b,) in conn.execute(staged_sql)}


def _penalties(path: Path, tag: str, *, rows: int = 20, bad: int = 0) -> str:
    """A penalties file of ``rows`` rows, the first ``bad`` with a wrong check character."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CF)
        for i in range(rows):
            code = uscc.make("91", "140681", f"MA{abs(hash(tag)) % 1000:03d}{i:03d}")
            if i < bad:
                code = code[:17] + ("0" if code[17] != "0" else "1")
            w.writerow([f"公司{i}", "法人及非法人组织", code, "", "", f"怀市监罚〔2025〕{tag}{i}号", "警告", "0",
                        "2025-01-01", "", "局"])  # fmt: skip
    return path.as_posix()


def _batch(db: str, rel: str) -> tuple:
    with psycopg.connect(libpq_url(db)) as conn:
        return conn.execute(
            "SELECT batch_id, status, validation_run_id, quarantine_reason FROM ops.load_batches"
            " WHERE source_file = %s ORDER BY batch_id DESC LIMIT 1", (rel,)).fetchone()  # fmt: skip


def _cancel_gate_queries(db: str, run) -> object:
    """Run ``run()`` in a thread while raw.penalties is locked, cancelling (from another connection, as
    an operator's pg_cancel_backend would) every query that waits for the lock, Great Expectations'
    retries included; unlock when it is done."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = run()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    cancelled, deadline = 0, time.monotonic() + 300
    with psycopg.connect(libpq_url(db)) as locker, psycopg.connect(libpq_url(db), autocommit=True) as admin:
        locker.execute("LOCK TABLE raw.penalties IN ACCESS EXCLUSIVE MODE")
        thread.start()
        while thread.is_alive():
            assert time.monotonic() < deadline, "the gate did not finish"
            cancelled += admin.execute(
                "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()[0]  # fmt: skip
            time.sleep(0.05)
        locker.rollback()
    thread.join()
    assert cancelled, "the gate finished before any of its queries was cancelled"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.server_version
def test_a_cancelled_gate_query_holds_the_batch_and_records_why(db, tmp_path):
    url = libpq_url(url_for("loader", db))
    rel = "departments/scjgj/penalties_cancel.csv"
    _penalties(tmp_path / rel, "C")
    result = loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF, gate=False)
    assert result.rows_loaded == 20

    (verdict,) = _cancel_gate_queries(db, lambda: ingest_gate.gate(url, [result.batch_id],
                                                                      archive_dir=tmp_path / "a"))  # fmt: skip
    assert not verdict.passed
    assert CANCELLED in verdict.reason
    batch_id, status, run_id, _ = _batch(db, rel)
    assert status not in ("loaded", "quarantined")  # held: neither passed nor blamed on the file
    with psycopg.connect(libpq_url(db)) as conn:
        success, failed, details = conn.execute(
            "SELECT success, failed, details::text FROM ops.validation_runs WHERE %s = ANY(batch_ids)"
            " ORDER BY validation_run_id DESC LIMIT 1", (batch_id,)).fetchone()  # fmt: skip
        error = conn.execute("SELECT gate_error FROM ops.load_batches WHERE batch_id = %s", (batch_id,)).fetchone()[0]
    assert success is False and failed >= 1 and CANCELLED in details
    assert CANCELLED in error

    # The next load of the department gates the held batch again, and it passes.
    (again,) = loader.load_department(url, DEPT, inbox=tmp_path, only_pending=True)
    assert (again.batch_id, again.status) == (batch_id, "loaded")
    assert _batch(db, rel)[1] == "loaded"


def test_a_checkpoint_whose_query_is_cancelled_fails_every_stage(db, tmp_path):
    """run_checkpoint is shared by the raw, marts and publication stages: an error raises, never passes."""
    url = libpq_url(url_for("loader", db))
    rel = "departments/scjgj/penalties_cancel_stage.csv"
    _penalties(tmp_path / rel, "S")
    result = loader.load_file(url, rel, inbox=tmp_path, archive_dir=tmp_path / "a", as_of=AS_OF, gate=False)
    batches = [{"batch_id": result.batch_id, "source": "penalty", "table": "raw.penalties"}]
    with pytest.raises(ValidationFailed, match=f"could not run: .*{CANCELLED}") as failure:
        _cancel_gate_queries(db, lambda: run_checkpoint(url, "raw", batches=batches, max_rejected_share=0.2,
                                                        data_docs=False))  # fmt: skip
    assert "None unexpected" not in str(failure.value)  # no count of rows for a check that never ran


KILLED_LOAD = """
import datetime as dt, os, signal, sys
from pathlib import Path
from credit_platform.ingest import gate as ingest_gate, loader
from credit_platform.quality import raw_gate

url, inbox, point, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
real_gate, real_checkpoint = ingest_gate.gate, raw_gate.run_checkpoint


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def checkpoint_then_die(*args, **kwargs):  # the validation run is recorded, the batches not yet marked
    real_checkpoint(*args, **kwargs)
    die()


def gate_then_die(*args, **kwargs):
    real_gate(*args, **kwargs)
    die()


ingest_gate.gate = {"after_copy": die, "during_gate": ingest_gate.gate, "after_gate": gate_then_die}[point]
raw_gate.run_checkpoint = checkpoint_then_die if point == "during_gate" else real_checkpoint
loader.load_files(url, files, inbox=inbox, archive_dir=inbox.parent / "archive", as_of=dt.date(2026, 1, 15))
raise SystemExit("not killed")
"""


@pytest.mark.parametrize("point", ["after_copy", "during_gate", "after_gate"])
def test_a_load_killed_at_any_step_is_gated_by_the_rerun(db, staged_sql, tmp_path, point):
    url = libpq_url(url_for("loader", db))
    inbox = tmp_path / "inbox"
    good, bad = (f"departments/scjgj/penalties_kill_{point}_{k}.csv" for k in ("good", "bad"))
    _penalties(inbox / good, f"G{point}")
    _penalties(inbox / bad, f"B{point}", bad=8)  # 40% of its rows rejected: the gate quarantines it
    _kill_load(db, inbox, point, [good, bad])
    good_id, bad_id = _batch(db, good)[0], _batch(db, bad)[0]
    if point != "after_gate":
        # Killed before its gate decided: nothing of either batch is visible to staging yet.
        assert not {good_id, bad_id} & _staged(db, staged_sql)
        assert DEPT in loader.departments_with_files(url, inbox)  # the ingest DAG's discovery finds them

    try:  # the department's ingest task, run again
        loader.load_department(url, DEPT, inbox=inbox, only_pending=True)
    except loader.Quarantined as exc:
        assert bad in str(exc) and good not in str(exc)

    g, b = _batch(db, good), _batch(db, bad)
    assert (g[0], g[1]) == (good_id, "loaded") and g[2] is not None
    assert (b[0], b[1]) == (bad_id, "quarantined") and "拒收比例" in b[3]
    staged = _staged(db, staged_sql)
    assert good_id in staged and bad_id not in staged
    with psycopg.connect(libpq_url(db)) as conn:
        statuses = [s for (s,) in conn.execute("SELECT status FROM ops.load_batches WHERE source_file = ANY(%s)"
                                               " ORDER BY batch_id", ([good, bad],))]  # fmt: skip
    assert statuses == ["loaded", "quarantined"]  # no batch loaded twice, none left behind
    assert loader.load_department(url, DEPT, inbox=inbox, only_pending=True) == []



def _kill_load(db: str, inbox: Path, point: str, files: list[str]) -> None:
    """Load ``files`` in another process and SIGKILL it at ``point``; wait until its session is gone."""
    app = f"credit-killed-gate-{point}-{abs(hash(tuple(files))) % 10_000}"
    env = {**os.environ, "PGAPPNAME": app}
    proc = subprocess.run([sys.executable, "-c", KILLED_LOAD, libpq_url(url_for("loader", db)), str(inbox), point,
                           *files], env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    with psycopg.connect(libpq_url(db), autocommit=True) as conn:
        deadline = time.monotonic() + 120
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed load's session is still on the server"
            time.sleep(0.1)


def test_a_province_push_killed_before_its_gate_is_gated_not_loaded_again(db, tmp_path):
    """The province DAG's path: the file is pending again, and its load takes up the batch as it is."""
    url = libpq_url(url_for("loader", db))
    inbox = tmp_path / "inbox"
    rel = "province/province_evaluation_killed.csv"
    (inbox / "province").mkdir(parents=True)
    with open(inbox / rel, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["企业名称", "统一社会信用代码", "评价等级", "评价日期"],
                                  ["甲", uscc.make("91", "140681", "MP000001"), "A", "2025-06-01"]])  # fmt: skip
    _kill_load(db, inbox, "after_copy", [rel])
    killed = _batch(db, rel)
    assert killed[1] == "landed"  # staging takes loaded batches only (the penalties tests above show it)
    assert rel in loader.pending(url, inbox, prefix="province")
    result = loader.load_file(url, rel, inbox=inbox, archive_dir=inbox.parent / "archive", as_of=AS_OF)
    assert (result.batch_id, result.status, result.rows_loaded) == (killed[0], "loaded", 1)
    assert loader.pending(url, inbox, prefix="province") == []


@pytest.mark.server_version
def test_the_migration_keeps_gated_batches_and_holds_the_ungated(scratch_database, tmp_path):
    """On an existing warehouse: a loaded batch with a raw validation run passed; one without never was gated."""
    from credit_platform.warehouse import migrate

    ours = next(m for m in migrate.discover() if m.path.name.endswith("__crash_safe_raw_gate.sql"))
    before = tmp_path / "before"
    before.mkdir()
    for m in migrate.discover():
        if m.version < ours.version:
            (before / m.path.name).write_text(m.path.read_text(encoding="utf-8"), encoding="utf-8")
    migrate.migrate(scratch_database, before)
    with psycopg.connect(libpq_url(scratch_database)) as conn:
        run = conn.execute("INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed,"
                           " details) VALUES ('raw', 'raw_checkpoint', true, 1, 0, '{}') RETURNING validation_run_id"
                           ).fetchone()[0]  # fmt: skip
        for status, run_id in (("loaded", run), ("loaded", None), ("quarantined", run), ("duplicate", None)):
            conn.execute("INSERT INTO ops.load_batches (source, source_file, status, rows_in, rows_loaded,"
                         " rows_rejected, finished_at, quarantined_at, validation_run_id)"
                         " VALUES ('penalty', %s, %s, 1, 1, 0, now(), CASE WHEN %s = 'quarantined' THEN now() END, %s)",
                         (f"departments/scjgj/{status}_{run_id}.csv", status, status, run_id))  # fmt: skip
    migrate.migrate(scratch_database)
    with psycopg.connect(libpq_url(scratch_database)) as conn:
        after = conn.execute("SELECT status, validation_run_id IS NOT NULL, gated_at IS NOT NULL"
                             " FROM ops.load_batches ORDER BY batch_id").fetchall()  # fmt: skip
    assert after == [("loaded", True, True), ("landed", False, False), ("quarantined", True, True),
                     ("duplicate", False, False)]  # fmt: skip


def test_a_rebuild_gates_the_batches_a_load_left_ungated(migrated_database, tmp_path, monkeypatch):
    from credit_platform.grading.periods import rebuild

    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    good, bad = "departments/scjgj/penalties_rebuild_good.csv", "departments/scjgj/penalties_rebuild_bad.csv"
    _penalties(inbox / good, "RG")
    _penalties(inbox / bad, "RB", bad=8)
    monkeypatch.setenv("CREDIT_ARCHIVE", str(archive))
    with migrated_database("gaterebuild") as url:
        loader_url = libpq_url(url_for("loader", url))
        for rel in (good, bad):  # committed, then the process stopped before its gate: as a killed load leaves them
            loader.load_file(loader_url, rel, inbox=inbox, archive_dir=archive, as_of=AS_OF, gate=False)
        assert (_batch(url, good)[1], _batch(url, bad)[1]) == ("landed", "landed")
        rebuild(libpq_url(url), archive_dir=archive, run_dbt_build=False)
        assert (_batch(url, good)[1], _batch(url, bad)[1]) == ("loaded", "quarantined")

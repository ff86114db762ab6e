"""The ingest DAGs as Airflow runs them: one task per department, a broken file fails only its own.

A file that cannot be read fails its batch; a file without a required column is quarantined by
the raw quality gate, its task failing with the file and the reason in the log, while the good
batches of every department (the files after a broken one included) still reach grading; the DAG
run then ends failed, and succeeds once nothing is broken or pending.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import psycopg
import pytest
from alert_receivers import SmtpReceiver, WebhookReceiver, alert_env, wait_for
from sqlalchemy.engine import make_url

from credit_platform import uscc
from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GOOD = uscc.make("91", "140681", "MA0D1234")


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


def _airflow(env: dict, *args: str) -> str:
    res = subprocess.run([str(Path(sys.executable).parent / "airflow"), *args],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=300)  # fmt: skip
    return res.stdout + res.stderr


def _dags_test(env: dict, dag_id: str) -> str:
    return _airflow(env, "dags", "test", dag_id)


def _batches(warehouse: str, like: str) -> list[tuple]:
    with psycopg.connect(libpq_url(warehouse)) as conn:
        return conn.execute("SELECT source_file, status FROM ops.load_batches WHERE source_file LIKE %s"
                            " ORDER BY batch_id", (like,)).fetchall()  # fmt: skip


def _asset_events(warehouse: str, airflow_db: str) -> int:
    url = libpq_url(make_url(warehouse).set(database=airflow_db).render_as_string(hide_password=False))
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id"
                            " WHERE a.name = 'raw_department_records'").fetchone()[0]  # fmt: skip


def _last_run_state(warehouse: str, airflow_db: str, dag_id: str) -> str:
    """The final state of the DAG's latest run, as Airflow recorded it (its leaves decide it)."""
    url = libpq_url(make_url(warehouse).set(database=airflow_db).render_as_string(hide_password=False))
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT state FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1",
                            (dag_id,)).fetchone()[0]  # fmt: skip


def _damaged_sheet(path: Path) -> None:
    """A workbook whose zip is sound but whose sheet XML breaks off in the middle."""
    import io
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"])
    for d in range(1, 6):
        wb.active.append(["戊", GOOD, "警告", f"2025-08-{d:02}"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2] + b"<c r=<<"
            zout.writestr(info, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def test_a_broken_file_fails_its_department_only_and_a_rerun_takes_only_what_is_pending(
    airflow_test_env, warehouse, airflow_db, tmp_path
):
    inbox = tmp_path / "inbox"
    _csv(inbox / "departments/scjgj/penalties_dagtest.csv", ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"],
         [["甲", GOOD, "警告", f"2025-05-{d:02}"] for d in range(1, 10)] + [["乙", "bad", "警告", "2025-05-10"]])
    _csv(inbox / "departments/sthjj/penalties_dagtest.csv", ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB"],
         [["丁", GOOD, "警告"]])  # no decision date column: quarantined
    _csv(inbox / "departments/sthjj/complaints_dagtest.csv", ["投诉编号", "统一社会信用代码", "受理日期", "办理状态"],
         [["TS-2", GOOD, "2025-06-02", "办理中"]])  # fmt: skip
    _csv(inbox / "departments/zjj/complaints_dagtest.csv", ["投诉编号", "统一社会信用代码", "受理日期", "办理状态"],
         [["TS-1", GOOD, "2025-06-01", "办理中"]])  # fmt: skip
    broken = inbox / "departments/jtj/penalties_dagtest.xlsx"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"PK\x03\x04 this workbook was cut off in the middle")
    # Loaded before a good file of its department: its sheet's XML breaks off, which only reading the rows finds.
    _damaged_sheet(inbox / "departments/zjj/penalties_dagtest_damaged.xlsx")
    _csv(inbox / "departments/zjj/penalties_dagtest_good.csv", ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"],
         [["己", GOOD, "警告", "2025-08-09"]])  # fmt: skip
    outbox = tmp_path / "outbox"
    smtp, hook = SmtpReceiver(), WebhookReceiver()  # the data team's alerts
    env = {**airflow_test_env, "CREDIT_INBOX": str(inbox), "CREDIT_ARCHIVE": str(tmp_path / "archive"),
           "CREDIT_OUTBOX": str(outbox), "CREDIT_TASK_RETRIES": "0", **alert_env(smtp, hook)}  # fmt: skip
    events_before = _asset_events(warehouse, airflow_db)

    try:
        out = _dags_test(env, "ingest_departments")
        # A failed department task alerts the team: the quarantined file with its reason, the unreadable ones.
        assert wait_for(lambda: len(hook.posts) >= 3 and len(smtp.messages) >= 3), out[-4000:]
    finally:
        smtp.stop()
        hook.stop()
    alerts = {p["json"]["context"]["map_index"]: p["json"] for p in hook.posts}
    assert {a["context"]["task_id"] for a in alerts.values()} == {"load_department"}
    quarantined = next(a for a in alerts.values() if "departments/sthjj/penalties_dagtest.csv" in a["text"])
    assert "quarantined, not graded" in quarantined["text"] and "decision_date" in quarantined["text"]
    assert any("departments/jtj/penalties_dagtest.xlsx: not a readable XLSX workbook" in a["text"]
               for a in alerts.values())  # fmt: skip
    assert len(hook.posts) == len(smtp.messages) == 3  # sthjj, jtj and zjj, once each
    assert "state=failed" in out, out[-4000:]
    assert _last_run_state(warehouse, airflow_db, "ingest_departments") == "failed", out[-4000:]
    assert "departments/zjj/penalties_dagtest_damaged.xlsx: sheet" in out and "is damaged" in out
    assert "departments/jtj/penalties_dagtest.xlsx: not a readable XLSX workbook" in out
    assert "departments/sthjj/penalties_dagtest.csv: batch" in out and "quarantined, not graded" in out
    assert "文件表头含全部必填列 / the file's header has every required column" in out and "decision_date" in out
    assert "AirflowFailException" in out  # no retry: the file must be corrected
    after_first = [
        ("departments/jtj/penalties_dagtest.xlsx", "failed"),
        ("departments/scjgj/penalties_dagtest.csv", "loaded"),
        ("departments/sthjj/complaints_dagtest.csv", "loaded"),
        ("departments/sthjj/penalties_dagtest.csv", "quarantined"),
        ("departments/zjj/complaints_dagtest.csv", "loaded"),
        ("departments/zjj/penalties_dagtest_damaged.xlsx", "failed"),
        ("departments/zjj/penalties_dagtest_good.csv", "loaded"),
    ]
    assert sorted(_batches(warehouse, "%_dagtest%")) == after_first
    assert _asset_events(warehouse, airflow_db) == events_before + 1  # what loaded still reaches grading
    # Each department finds a receipt per file, the quarantined and unreadable ones saying so first.
    receipts = {p.parent.name + "/" + p.name.split("_", 3)[3]: p for p in outbox.glob("departments/*/回执_*.xlsx")}
    assert set(receipts) == {f"{rel.split('/')[1]}/{Path(rel).stem}.xlsx" for rel, _ in after_first}
    first_line = {k: openpyxl.load_workbook(p).active["A1"].value for k, p in receipts.items()}
    assert first_line["sthjj/penalties_dagtest.xlsx"].startswith("已隔离")
    assert first_line["jtj/penalties_dagtest.xlsx"].startswith("无法读取")
    assert first_line["scjgj/penalties_dagtest.xlsx"].startswith("已装载，但有 1 行被拒收")
    assert first_line["zjj/complaints_dagtest.xlsx"].startswith("已装载，全部数据参与评价")

    # Run again: the loaded and quarantined files are not taken again; the unreadable one still fails.
    out = _dags_test(env, "ingest_departments")
    assert "state=failed" in out
    assert _last_run_state(warehouse, airflow_db, "ingest_departments") == "failed", out[-4000:]
    assert sorted(_batches(warehouse, "%_dagtest%")) == sorted(
        [*after_first, ("departments/jtj/penalties_dagtest.xlsx", "failed"),
         ("departments/zjj/penalties_dagtest_damaged.xlsx", "failed")])  # fmt: skip

    # The department sends a readable file in its place: the run succeeds and loads just that.
    broken.unlink()
    (inbox / "departments/zjj/penalties_dagtest_damaged.xlsx").unlink()
    _csv(inbox / "departments/jtj/penalties_dagtest.csv", ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"],
         [["丙", GOOD, "罚款", "2025-07-01"]])  # fmt: skip
    out = _dags_test(env, "ingest_departments")
    assert "state=success" in out, out[-4000:]
    assert _last_run_state(warehouse, airflow_db, "ingest_departments") == "success", out[-4000:]
    assert _batches(warehouse, "departments/jtj/penalties_dagtest.csv") == [
        ("departments/jtj/penalties_dagtest.csv", "loaded")]
    assert _asset_events(warehouse, airflow_db) == events_before + 2

    # Nothing pending: nothing is loaded, no asset event, and the run succeeds.
    out = _dags_test(env, "ingest_departments")
    assert _last_run_state(warehouse, airflow_db, "ingest_departments") == "success", out[-4000:]
    assert _asset_events(warehouse, airflow_db) == events_before + 2


def _task_states(warehouse: str, airflow_db: str, dag_id: str) -> dict[str, str]:
    """Each task's final state in the DAG's latest run (mapped tasks: their worst)."""
    url = libpq_url(make_url(warehouse).set(database=airflow_db).render_as_string(hide_password=False))
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT t.task_id, t.state FROM task_instance t WHERE t.run_id = (SELECT run_id FROM"
                            " dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1) AND t.dag_id = %s",
                            (dag_id, dag_id)).fetchall()  # fmt: skip
    states: dict[str, str] = {}
    for task_id, state in rows:
        states[task_id] = state if states.get(task_id, "success") == "success" else states[task_id]
    return states


def test_one_province_run_pulls_through_the_connection_refuses_links_and_fails_only_the_damaged_push(
    airflow_test_env, warehouse, airflow_db, tmp_path
):
    """One `airflow dags test ingest_province` for what each part of the province ingest promises:
    the pull through the Airflow connection `credit_portal` loads the portal's record; upper-case
    names load, a stray name is reported with the names expected, a symbolic link is refused (its
    task fails); a damaged push fails while the good one beside it loads; the run ends failed."""
    from fake_portal import TOKEN, FakePortal, _record

    other = uscc.make("92", "140624", "L1234567")
    inbox = tmp_path / "inbox"
    header = ["企业名称", "统一社会信用代码", "评价等级", "评价日期"]
    _csv(inbox / "province/Province_Evaluation_Upper.CSV", header, [["甲公司", GOOD, "A", "2025-06-01"]])
    _csv(inbox / "province/evaluations_2026.csv", header, [["乙公司", other, "B", "2025-06-01"]])
    _csv(tmp_path / "elsewhere/province_evaluation_secret.csv", header, [["丙公司", other, "C", "2025-06-01"]])
    (inbox / "province/province_evaluation_link.csv").symlink_to(tmp_path / "elsewhere/province_evaluation_secret.csv")
    (inbox / "province/~$province_evaluation_open.xlsx").write_bytes(b"lock")
    _damaged_sheet(inbox / "province/province_evaluation_dagtest_damaged.xlsx")
    _csv(inbox / "province/province_evaluation_dagtest_good.csv", header, [["庚", GOOD, "A", "2025-07-31"]])
    portal = FakePortal()
    try:
        portal.records += [_record(5, "A-", "2025-11-23T00:00:00")]
        conn_json = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": portal.port, "password": TOKEN,
                                "extra": {"path": "/api/v1"}})  # fmt: skip
        env = {**airflow_test_env, "CREDIT_INBOX": str(inbox), "CREDIT_ARCHIVE": str(tmp_path / "archive"),
               "CREDIT_TASK_RETRIES": "0", "AIRFLOW_CONN_CREDIT_PORTAL": conn_json}  # fmt: skip
        out = _dags_test(env, "ingest_province")
    finally:
        portal.server.shutdown()
    assert "state=failed" in out, out[-4000:]
    assert _last_run_state(warehouse, airflow_db, "ingest_province") == "failed", out[-4000:]
    states = _task_states(warehouse, airflow_db, "ingest_province")
    assert states["pull"] == "success", (states, out[-4000:])
    # the pull: the portal's record loaded through the watermark's file
    with psycopg.connect(libpq_url(warehouse)) as conn:
        row = conn.execute("SELECT b.status, b.rows_loaded FROM ops.load_batches b JOIN ops.pull_watermarks w"
                           " ON w.last_file = b.source_file").fetchone()  # fmt: skip
    assert row == ("loaded", 1)
    # the inbox boundary: the link refused, the stray reported, the upper-case name loaded
    assert "province/province_evaluation_link.csv: 收件箱中的符号链接不予读取" in out and "symbolic link" in out
    assert "province/evaluations_2026.csv: 没有数据源认领此文件名" in out and "province_evaluation_*.csv" in out
    assert "'files_unmatched': 1" in out and "'paths_refused': 1" in out, out[-4000:]
    assert _batches(warehouse, "province/Province_Evaluation_Upper.CSV") == [
        ("province/Province_Evaluation_Upper.CSV", "loaded")]
    assert _batches(warehouse, "%_link.csv") == [] and _batches(warehouse, "%evaluations_2026%") == []
    with psycopg.connect(libpq_url(warehouse)) as conn:
        assert conn.execute("SELECT count(*) FROM raw.province_evaluations WHERE uscc = %s AND source_file LIKE"
                            " 'province/%%link%%'", (other,)).fetchone()[0] == 0  # fmt: skip
    # a damaged push fails its own batch only
    assert "province/province_evaluation_dagtest_damaged.xlsx: sheet" in out and "is damaged" in out
    assert sorted(_batches(warehouse, "province/province_evaluation_dagtest_%")) == [
        ("province/province_evaluation_dagtest_damaged.xlsx", "failed"),
        ("province/province_evaluation_dagtest_good.csv", "loaded"),
    ]

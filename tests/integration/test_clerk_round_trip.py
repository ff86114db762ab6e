"""The clerk's side of a hand-over: ``check`` names the row as the sheet shows it, the cell and what
would be accepted, unknown headings once with the closest known one, a missing column once and the
quarantine it brings, and tells a file's kind from its headings; after a load the department finds a
receipt that never claims success for bad input; a result form saved by LibreOffice, returned in part,
loads what was filled in and waits for the rest."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook

from credit_platform import uscc
from credit_platform.ingest.check import check_file, render_text
from credit_platform.ingest.loader import load_files
from credit_platform.receipts.write import last_batch, write_since
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 15)
GOOD = uscc.make("91", "140681", "MA0K1234")
BAD = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")
CF = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_GSJZQ", "CF_CFJG"]
LEGAL = "法人及非法人组织"
FORM = Path(__file__).resolve().parents[1] / "data" / "inspection_results_libreoffice.xlsx"


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("clerk") as url:
        yield url


@pytest.fixture()
def loader(db) -> str:
    return libpq_url(url_for("loader", db))


def _csv(path: Path, header: list[str], rows: list[list[str]], title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title])
        w.writerow(header)
        w.writerows(rows)
    return path


def _row(n: int, *, code: str = GOOD, category: str = "警告", fine: str = "0", date: str = "2025-01-01") -> list[str]:
    return [f"甲{n}", LEGAL, code, f"怀市监罚〔2025〕{n}号", category, fine, date, "", "怀仁市市场监督管理局"]


def test_check_names_the_sheet_row_the_cell_and_what_would_be_accepted(loader, tmp_path):
    header = [*CF[:-1], "CF_CFJQ"]  # the authority's heading misspelt
    rows = [_row(n) for n in range(1, 9)] + [_row(9, fine="-5"), _row(10, code=BAD)]
    path = _csv(tmp_path / "departments/scjgj/penalties_2025.csv", header, rows, title="2025年行政处罚信息")
    report, status = check_file(loader, path, as_of=AS_OF)
    assert status == 1 and report["kind"] == "penalty" and report["kind_from"] == "file name"
    assert report["header_row"] == 2 and not report["would_quarantine"]
    errors = {p["code"]: p for p in report["problems"] if p["severity"] == "error"}
    fine = errors["amount_negative"]
    # Data row 9 is the sheet's row 11: a title row and the header above it.
    assert (fine["row"], fine["sheet_row"], fine["column"], fine["value"]) == (9, 11, "CF_NR_FK", "-5")
    assert "不小于 0" in fine["expected_zh"] and "not below 0" in fine["expected_en"]
    code = errors["uscc_invalid_checksum"]
    assert (code["sheet_row"], code["value"]) == (12, BAD) and "18" in code["expected_zh"]
    unknown = [p for p in report["problems"] if p["code"] == "unknown_header"]
    assert len(unknown) == 1 and unknown[0]["row"] is None and unknown[0]["suggestion"] == "CF_CFJG"
    text = render_text(report)
    assert "第 11 行，列「CF_NR_FK」，值「-5」" in text and "是否应为「CF_CFJG」" in text
    assert "结论 Verdict: 2 行将被拒收" in text and "隔离" not in text.splitlines()[-1]


def test_a_missing_column_is_said_once_and_the_quarantine_it_brings(loader, tmp_path):
    header = [h for h in CF if h != "CF_XDR_SHXYM"]
    rows = [[c for i, c in enumerate(_row(n)) if i != 2] for n in range(1, 6)]
    report, status = check_file(loader, _csv(tmp_path / "penalties_x.csv", header, rows), as_of=AS_OF)
    missing = [p for p in report["problems"] if p["code"] == "required_column_missing"]
    assert status == 1 and len(missing) == 1 and report["would_quarantine"] and report["rows_ok"] == 0
    assert missing[0]["column"] == "行政相对人代码_1(统一社会信用代码)" and "隔离" in missing[0]["message_zh"]
    assert "整个文件将被隔离" in render_text(report).splitlines()[-1]
    # Over the rejected-row share (default 20%): 3 of 5 rows bad.
    rows = [_row(1), _row(2), _row(3, fine="x"), _row(4, fine="y"), _row(5, fine="z")]
    report, status = check_file(loader, _csv(tmp_path / "penalties_y.csv", CF, rows), as_of=AS_OF)
    assert status == 1 and report["would_quarantine"] and "整个文件将被隔离" in render_text(report)


def test_the_kind_is_told_from_the_headings_or_the_kinds_are_listed(loader, db, tmp_path):
    report, status = check_file(loader, _csv(tmp_path / "export_0312.csv", CF, [_row(1)]), as_of=AS_OF)
    assert (status, report["kind"], report["kind_from"]) == (0, "penalty", "headers")
    assert "由表头判断" in render_text(report)
    report, status = check_file(loader, _csv(tmp_path / "export_0313.csv", ["序号", "备注"], [["1", "x"]]), as_of=AS_OF)
    assert status == 2 and report["error_kind"] == "unknown_kind"
    text = render_text(report)
    assert "无法判断" in text and "cannot tell what this file is" in text and "penalty（双公示 行政处罚）" in text
    assert "无法读取" not in text  # the file is readable; only its kind is unknown
    # The command line: the same report as JSON, with row kept and sheet_row beside it.
    path = _csv(tmp_path / "penalties_z.csv", CF, [_row(1, fine="x")])
    cli = str(Path(sys.executable).parent / "credit-platform")
    out = subprocess.run([cli, "check", "--format", "json", str(path)], capture_output=True, text=True,
                         env={**os.environ, "WAREHOUSE_URL": db}, timeout=300)  # fmt: skip
    assert out.returncode == 1, out.stderr
    problem = json.loads(out.stdout)["problems"][0]
    assert (problem["row"], problem["sheet_row"], problem["value"]) == (1, 2, "x")


def test_receipts_never_claim_success_for_bad_input(loader, tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    good = _csv(inbox / "departments/scjgj/penalties_good.csv", CF,
                [_row(n) for n in range(1, 11)] + [_row(11, fine="-1")])  # fmt: skip
    _csv(inbox / "departments/scjgj/penalties_bad.csv", CF, [_row(1, fine="x"), _row(2, fine="y"), _row(3)])
    (inbox / "departments/scjgj/penalties_broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    after = last_batch(loader)
    files = ["departments/scjgj/penalties_good.csv", "departments/scjgj/penalties_bad.csv",
             "departments/scjgj/penalties_broken.xlsx"]
    _results, failures = load_files(loader, files, inbox=inbox, archive_dir=tmp_path / "archive", as_of=AS_OF)
    assert good.exists() and len(failures) == 2
    receipts = {r.path.name.split("_", 3)[3]: r for r in write_since(loader, after, outbox)}
    assert set(receipts) == {"penalties_good.xlsx", "penalties_bad.xlsx", "penalties_broken.xlsx"}
    assert all(r.path.parent == outbox / "departments" / "scjgj" for r in receipts.values())

    def first_cells(name: str) -> list[str]:
        ws = load_workbook(receipts[name].path).active
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 and "&P" in ws.oddFooter.center.text
        return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]

    cells = first_cells("penalties_good.xlsx")
    assert cells[0].startswith("已装载，但有 1 行被拒收")
    assert any("读取 11 行：装载 10 行，拒收 1 行" in c for c in cells[:5])
    at = cells.index("表格行号")
    assert cells[at + 5: at + 10] == ["12", "CF_NR_FK", "-1", "金额为负数",
                                      "改为：不小于 0 的数字，如 5000 或 5,000.00"]  # fmt: skip
    cells = first_cells("penalties_bad.xlsx")
    assert cells[0].startswith("已隔离") and cells[1].startswith("隔离原因：拒收 2 行，占 67%")
    cells = first_cells("penalties_broken.xlsx")
    assert cells[0].startswith("无法读取，未装载") and "原因" in cells[1]
    assert not any(c.startswith("已装载") for r in ("penalties_bad.xlsx", "penalties_broken.xlsx")
                   for c in first_cells(r)[:1])  # fmt: skip


def test_a_form_saved_by_libreoffice_comes_back_in_part(loader, db, tmp_path):
    """The fixture is the platform's form, three of five results filled in, saved by LibreOffice
    (tests/data/make_libreoffice_form.py)."""
    inbox = tmp_path / "inbox"
    rel = "departments/scjgj/inspection_results_2026-R1_scjgj.xlsx"
    (inbox / rel).parent.mkdir(parents=True)
    shutil.copyfile(FORM, inbox / rel)
    report, status = check_file(loader, inbox / rel, as_of=dt.date(2026, 4, 1))
    assert status == 0 and (report["rows_read"], report["rows_ok"], report["rows_not_returned"]) == (3, 3, 2)
    assert "尚未回填 2 行" in render_text(report)
    [result], failures = load_files(loader, [rel], inbox=inbox, archive_dir=tmp_path / "archive",
                                    as_of=dt.date(2026, 4, 1))  # fmt: skip
    assert not failures
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_rejected, result.rows_not_returned) == (
        "loaded", 3, 3, 0, 2)
    with psycopg.connect(libpq_url(db)) as conn:
        got = conn.execute("SELECT task_id, matter_name, inspection_date, result FROM raw.inspection_results"
                           " WHERE batch_id = %s ORDER BY row_number", (result.batch_id,)).fetchall()  # fmt: skip
        waiting = conn.execute("SELECT row_number, record ->> '任务编号' FROM ops.unreturned_rows WHERE batch_id = %s"
                               " ORDER BY row_number", (result.batch_id,)).fetchall()  # fmt: skip
    assert [(t, d) for t, _, d, _ in got] == [("2026-R1-T001", "2026-03-12"), ("2026-R1-T002", "2026-03-13"),
                                              ("2026-R1-T004", "2026-03-15")]  # fmt: skip
    assert {m for _, m, _, _ in got} == {"食品经营许可事项检查"}
    assert waiting == [(3, "2026-R1-T003"), (5, "2026-R1-T005")]

"""The raw quality gate on a generated city: ordinary batches pass, broken ones are quarantined.

The city's own files (about 2% defects) all pass the raw checkpoint (the ``graded_city`` fixture
asserts it). Here penalty files are added to one department: one without its decision-date
column, one with 30% of rows carrying a bad credit code, one with 10%. The first two are
quarantined (the department's load fails naming each file and its cause, ``ops.load_batches``
records why, the Data Docs page exists) and none of their rows reaches staging or any grade's
explanation; the third passes and its records are graded. A kept row altered afterwards, or a
row lost, fails the raw suite for its batch. A rebuild from the archive quarantines the same
batches again.
"""

from __future__ import annotations

import csv

import pytest
from conftest import dbt_build
from sql import rows

from credit_platform.grading.periods import rebuild
from credit_platform.ingest import gate as ingest_gate
from credit_platform.ingest.loader import Quarantined, load_department
from credit_platform.quality import raw_gate
from credit_platform.quality.checkpoints import data_docs_dir
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

DEPT = "scjgj"
HEADER = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_WFXW", "CF_CFLB", "CF_NR_FK", "CF_JDRQ",
          "CF_CFJG"]  # fmt: skip


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("rawgate") as c:
        yield c


def _penalties(path, usccs: list[str], *, tag: str, bad: int = 0, drop: str | None = None) -> None:
    """A penalties file for ``usccs``: its first ``bad`` rows with a broken code, ``drop`` left out."""
    header = [h for h in HEADER if h != drop]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, uscc in enumerate(usccs):
            row = dict(zip(HEADER, ["测试主体", "法人及非法人组织", "BAD" + uscc[3:] if i < bad else uscc,
                                    f"怀市监罚〔2025〕{tag}{i}号", "未按规定公示年度报告", "罚款", "0.5",
                                    "2025-10-01", "怀仁市市场监督管理局"], strict=True))  # fmt: skip
            w.writerow([row[h] for h in header])


def test_broken_batches_are_quarantined_and_feed_no_grade(city, monkeypatch, tmp_path):
    admin, inbox = city["admin"], city["inbox"]
    loader = libpq_url(url_for("loader", city["url"]))
    graded = [u for (u,) in rows(admin, "SELECT DISTINCT uscc FROM marts.fct_industry_credit_grades"
                                         " WHERE evaluation_period = '2025-H2' ORDER BY uscc LIMIT 150")]  # fmt: skip
    folder = inbox / "departments" / DEPT
    _penalties(folder / "penalties_gate_nodate.csv", graded[:50], tag="N", drop="CF_JDRQ")
    _penalties(folder / "penalties_gate_bad30.csv", graded[50:100], tag="B", bad=15)
    _penalties(folder / "penalties_gate_ok10.csv", graded[100:150], tag="K", bad=5)
    docs_before = set(data_docs_dir().rglob("*.html")) if data_docs_dir().exists() else set()

    with pytest.raises(Quarantined) as failure:
        load_department(loader, DEPT, inbox=inbox, only_pending=True)
    message = str(failure.value)
    assert "2 of 3 file(s) of scjgj failed" in message
    assert "penalties_gate_nodate.csv" in message and "文件表头含全部必填列" in message and "decision_date" in message
    assert "penalties_gate_bad30.csv" in message and "拒收比例不超过 20%" in message and "0.3" in message
    assert "penalties_gate_ok10.csv" not in message

    batches = {f.rsplit("/", 1)[-1]: (b, s, r, rin, rl, rr, m) for b, f, s, r, rin, rl, rr, m in rows(admin,
        "SELECT batch_id, source_file, status, quarantine_reason, rows_in, rows_loaded, rows_rejected, missing_columns"
        " FROM ops.load_batches WHERE source_file LIKE 'departments/scjgj/penalties_gate_%%'")}  # fmt: skip
    nodate, bad30, ok10 = (batches[f"penalties_gate_{k}.csv"] for k in ("nodate", "bad30", "ok10"))
    assert nodate[1:2] == ("quarantined",) and nodate[6] == ["decision_date"]
    assert nodate[3:6] == (50, 0, 50)  # nothing lost: every row rejected, with its reason
    assert rows(admin, "SELECT DISTINCT reason_code FROM ops.rejected_rows WHERE batch_id = %s",
                 (nodate[0],)) == [("required_column_missing",)]  # fmt: skip
    assert bad30[1] == "quarantined" and bad30[3:6] == (50, 35, 15) and "rejected" in bad30[2]
    assert ok10[1] == "loaded" and ok10[2] is None and ok10[3:6] == (50, 45, 5)

    run = rows(admin, "SELECT success, batch_ids, data_docs_url, seconds FROM ops.validation_runs"
                       " WHERE stage = 'raw' AND %s = ANY(batch_ids)", (bad30[0],))  # fmt: skip
    assert len(run) == 1 and run[0][0] is False and {nodate[0], bad30[0], ok10[0]} <= set(run[0][1])
    page = data_docs_dir().parent / run[0][2].replace("%20", " ")
    assert page.is_file() and page not in docs_before and "failed" in page.read_text(encoding="utf-8").lower()
    linked = rows(admin, "SELECT DISTINCT validation_run_id IS NOT NULL FROM ops.load_batches"
                          " WHERE status IN ('loaded', 'quarantined') AND source_file IS NOT NULL")  # fmt: skip
    assert linked == [(True,)]

    # A second run finds the quarantined files done: they are not loaded again until they change.
    assert load_department(loader, DEPT, inbox=inbox, only_pending=True) == []

    dbt_build(city)
    ours = [nodate[0], bad30[0], ok10[0]]
    in_staging = dict(rows(admin, "SELECT batch_id, count(*) FROM staging.stg_departments__penalties"
                                   " WHERE batch_id = ANY(%s) GROUP BY 1", (ours,)))  # fmt: skip
    assert in_staging == {ok10[0]: 45}
    explained = dict(rows(admin, "SELECT split_part(r, '/', 2)::bigint, count(*) FROM marts.fct_grade_explanations,"
                                  " unnest(source_record_ids) r"
                                  " WHERE r LIKE 'raw.penalties/%%' AND split_part(r, '/', 2)::bigint = ANY(%s)"
                                  " GROUP BY 1", ([bad30[0], ok10[0]],)))  # fmt: skip
    assert ok10[0] in explained and bad30[0] not in explained

    # The raw suite checks what the loader kept: a row altered afterwards, or lost, fails its batch.
    rows(admin, "UPDATE raw.penalties SET fine_amount = '-3' WHERE batch_id = %s AND row_number ="
                 " (SELECT min(row_number) FROM raw.penalties WHERE batch_id = %s)", (ok10[0], ok10[0]))  # fmt: skip
    rows(admin, "DELETE FROM raw.penalties WHERE batch_id = %s AND row_number ="
                 " (SELECT max(row_number) FROM raw.penalties WHERE batch_id = %s)", (ok10[0], ok10[0]))  # fmt: skip
    (verdict,) = ingest_gate.gate(loader, [ok10[0]], archive_dir=city["archive"])
    assert not verdict.passed
    assert "fine_amount" in verdict.reason and "金额为非负数" in verdict.reason and "'-3'" in verdict.reason
    assert "行数与批次记录一致" in verdict.reason
    assert "penalties_gate_ok10.csv" in verdict.message()

    # A rebuild from the archive lands every batch again and quarantines the same ones.
    monkeypatch.setenv("CREDIT_ARCHIVE", str(city["archive"]))
    rebuild(admin, archive_dir=city["archive"], run_dbt_build=False)
    after = dict(rows(admin, "SELECT batch_id, status FROM ops.load_batches WHERE batch_id = ANY(%s)",
                       ([nodate[0], bad30[0], ok10[0]],)))  # fmt: skip
    assert after == {nodate[0]: "quarantined", bad30[0]: "quarantined", ok10[0]: "quarantined"}
    assert rows(admin, "SELECT count(*) FROM raw.penalties WHERE batch_id = %s", (bad30[0],)) == [(35,)]


def test_threshold_is_configuration(city, monkeypatch):
    admin, inbox = city["admin"], city["inbox"]
    loader = libpq_url(url_for("loader", city["url"]))
    usccs = [u for (u,) in rows(admin, "SELECT DISTINCT uscc FROM raw.subject_register ORDER BY uscc DESC LIMIT 20")]
    _penalties(inbox / "departments" / DEPT / "penalties_gate_bad30_allowed.csv", usccs, tag="T", bad=6)
    monkeypatch.setenv("CREDIT_MAX_REJECTED_SHARE", "0.5")
    (result,) = load_department(loader, DEPT, inbox=inbox, only_pending=True)
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 14, 6)
    monkeypatch.setenv("CREDIT_MAX_REJECTED_SHARE", "1.5")
    with pytest.raises(SystemExit, match="CREDIT_MAX_REJECTED_SHARE must be between 0 and 1"):
        raw_gate.max_rejected_share()


def test_a_passing_gate_writes_data_docs_pages_only_when_asked(city, monkeypatch):
    """A passing run is a row of ops.validation_runs and a line of the site's index, without pages
    (their expectations held, with no observed value); ``CREDIT_DATA_DOCS=all`` writes them too."""
    loader = libpq_url(url_for("loader", city["url"]))
    (batch,) = rows(city["admin"], "SELECT min(batch_id) FROM ops.load_batches WHERE status = 'loaded'"
                                   " AND source = 'commendation'")[0]  # fmt: skip
    pages = {}
    for mode in ("failed", "all"):
        monkeypatch.setenv("CREDIT_DATA_DOCS", mode)
        before = set(data_docs_dir().rglob("*.html"))
        (verdict,) = ingest_gate.gate(loader, [batch], archive_dir=city["archive"])
        assert verdict.passed
        pages[mode] = set(data_docs_dir().rglob("*.html")) - before
        url = rows(city["admin"], "SELECT data_docs_url FROM ops.validation_runs WHERE validation_run_id = %s",
                   (verdict.validation_run_id,))[0][0]  # fmt: skip
        assert (url is None) == (mode == "failed")
        index = (data_docs_dir() / "index.html").read_text(encoding="utf-8")
        assert f"<tr><td>{verdict.validation_run_id}</td>" in index
    assert not pages["failed"] and any("validations" in str(p) for p in pages["all"])
    monkeypatch.setenv("CREDIT_DATA_DOCS", "some")
    with pytest.raises(ValueError, match="CREDIT_DATA_DOCS must be 'failed' or 'all'"):
        ingest_gate.gate(loader, [batch], archive_dir=city["archive"])

"""Objections (异议) filed through the inbox: the register (marts.fct_objections) with its reply
deadline in working days across the 2026 Spring Festival, on the shared graded city."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import department_file
from sql import rows

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.loader import load_files
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

HEADER = ["异议编号", "统一社会信用代码", "主体名称", "行业", "评价周期", "异议理由", "证明材料", "答复方式",
          "受理日期"]


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("objections") as c:
        yield c


def _write(city, department: str, name: str, rows: list[list]) -> str:
    return department_file(city, department, name, HEADER, rows)


def _build(city, as_of: dt.date) -> None:
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "stg_departments__objections+",
                   "objection_settings", "--vars", f"{{objections_as_of: '{as_of}'}}"], base_url=city["url"],
                  capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_objections_are_registered_with_their_reply_deadline_across_the_spring_festival(city):
    """2026: 2-15 to 2-23 off, Saturdays 2-14 and 2-28 worked (the State Council's notice). scjgj
    answers within 10 working days (seed objection_settings), zjj within the default 15."""
    subjects = [u for (u,) in rows(city["admin"], "SELECT uscc FROM marts.dim_subjects ORDER BY uscc LIMIT 3")]
    loader = libpq_url(url_for("loader", city["url"]))
    files = [
        _write(city, "scjgj", "objections_2026_02.csv", [
            ["YY-2026-001", subjects[0], "甲", "food_drug", "2025-H2", "处罚已撤销", "撤销决定书", "书面",
             "2026-02-10"],
        ]),
        _write(city, "scjgj", "objections_2026_02_careless.csv", [
            ["YY-2026-002", subjects[1], "乙", "食品药品", "2025-H2", "", "", "书面", "2026-02-10"],  # no grounds
            ["YY-2026-003", subjects[1], "乙", "食品药品", "2025-H2", "许可已续期", "", "微信", "2026-02-10"],
        ]),
        _write(city, "zjj", "objections_2026_02.csv", [
            ["YY-Z-01", subjects[2], "丙", "住房城乡建设", "2025-H2", "投诉不实", "调查报告", "电子邮件", "2026-02-13"],
            ["YY-Z-02", subjects[2], "丙", "housing_construction", "2025-H2", "抽查结果有误", "", "", "2026-02-16"],
        ]),
    ]  # fmt: skip
    results, failures = load_files(loader, files, inbox=city["inbox"], archive_dir=city["archive"])
    # Every row of the careless file is rejected (no grounds; an answer channel not offered): the
    # batch is quarantined, with each row's reason, and the other files load.
    assert len(failures) == 1 and "objections_2026_02_careless.csv" in failures[0] and "quarantined" in failures[0]
    by_file = {r.file: (r.rows_loaded, r.rows_rejected) for r in results}
    assert by_file["departments/scjgj/objections_2026_02.csv"] == (1, 0)
    assert by_file["departments/zjj/objections_2026_02.csv"] == (2, 0)
    reasons = rows(city["admin"], "SELECT r.column_name FROM ops.rejected_rows r JOIN ops.load_batches b"
                                  " USING (batch_id) WHERE b.source_file LIKE %s ORDER BY 1", ("%careless%",))
    assert reasons == [("answer_channel",), ("grounds",)], reasons
    # A corrected filing: the same number again supersedes the first.
    files.append(_write(city, "zjj", "objections_2026_02_corrected.csv", [
        ["YY-Z-01", subjects[2], "丙", "住房城乡建设", "2025-H2", "投诉不实（补充）", "调查报告", "书面",
         "2026-02-13"]]))
    assert load_files(loader, files[-1:], inbox=city["inbox"], archive_dir=city["archive"])[0][0].rows_loaded == 1
    _build(city, dt.date(2026, 3, 12))
    got = {r[0]: r[1:] for r in rows(city["admin"],
           "SELECT objection_key, industry_code, grounds, answer_channel, reply_workdays, reply_deadline, state,"
           " is_overdue FROM marts.fct_objections ORDER BY 1")}  # fmt: skip
    assert got == {
        # Tue 2-10, 10 working days: 2-11, 2-12, 2-13, Sat 2-14, 2-24 ... 2-27, Sat 2-28, Mon 3-2.
        "scjgj|YY-2026-001": ("food_drug", "处罚已撤销", "书面", 10, dt.date(2026, 3, 2), "received", True),
        # Fri 2-13, 15 working days: Sat 2-14, 2-24 ... 2-28 (5), 3-2 ... 3-6 (5), 3-9 ... 3-12.
        "zjj|YY-Z-01": ("housing_construction", "投诉不实（补充）", "书面", 15, dt.date(2026, 3, 12), "received",
                        False),
        # Received on a holiday, Mon 2-16: counted from the working day before; 2-24 ... 3-13.
        "zjj|YY-Z-02": ("housing_construction", "抽查结果有误", None, 15, dt.date(2026, 3, 13), "received", False),
    }  # fmt: skip

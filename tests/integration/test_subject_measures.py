"""Who gets what (#18): the measures a grade brings (``marts.fct_subject_measures``) follow the grade
class in force, end when the class changes (here a correction after an objection, loaded as a grade
adjustment through the ingest), and reach each department as a workbook of its subjects' measures."""

from __future__ import annotations

import csv
import datetime as dt
import re

import psycopg
import pytest
from conftest import dbt_build
from openpyxl import load_workbook

from credit_platform.ingest.loader import load_file
from credit_platform.publish import config, publish, workbooks
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

PERIOD = "2025-H2"
PLANTED_ID = "110101199003077777"


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("measures") as c:
        yield c


def _rows(url: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _seed_measures(industry: str, grade_class: str) -> set[str]:
    with (paths().dbt_project / "seeds" / "supervision_measures.csv").open(encoding="utf-8") as fh:
        return {r["measure_code"] for r in csv.DictReader(fh)
                if r["industry_code"] == industry and r["grade_class"] == grade_class}  # fmt: skip


def _measures(city, uscc: str, industry: str) -> list[tuple]:
    return _rows(city["admin"],
                 "SELECT class_spell, grade_class, measure_code, due_from, due_until, planned_until, ended_on,"
                 " ended_because FROM marts.fct_subject_measures WHERE uscc = %s AND industry_code = %s"
                 " AND evaluation_period = %s ORDER BY class_spell, measure_code",
                 (uscc, industry, PERIOD))  # fmt: skip


def test_a_grade_brings_its_class_measures_from_the_day_it_took_effect(city):
    graded = _rows(city["admin"],
                   "SELECT g.uscc, g.industry_code, g.grade_class, (h.valid_from AT TIME ZONE 'Asia/Shanghai')::date"
                   " FROM marts.fct_industry_credit_grades g JOIN marts.fct_grade_history h"
                   " USING (uscc, industry_code, evaluation_period) WHERE g.evaluation_period = %s AND h.is_current",
                   (PERIOD,))  # fmt: skip
    assert graded
    measured = {(u, i): [] for u, i, *_ in graded}
    for u, i, cls, code, frm, until, ended in _rows(
            city["admin"], "SELECT uscc, industry_code, grade_class, measure_code, due_from, due_until, ended_on"
                           " FROM marts.fct_subject_measures WHERE evaluation_period = %s", (PERIOD,)):  # fmt: skip
        measured[(u, i)].append((cls, code, frm, until, ended))
    for uscc, industry, cls, day in graded:
        got = measured[(uscc, industry)]
        assert {code for _, code, *_ in got} == _seed_measures(industry, cls), (uscc, industry, cls)
        assert all(c == cls and frm == day and until > frm and ended is None for c, _, frm, until, ended in got)
    # Both periods were graded in one run: the earlier one's grade was never the grade in force.
    assert _rows(city["admin"], "SELECT count(*) FROM marts.fct_subject_measures WHERE evaluation_period <> %s",
                 (PERIOD,))[0][0] == 0  # fmt: skip


def test_an_upheld_objection_ends_the_old_class_measures_and_starts_the_new(city):
    uscc, industry, department, cls = _rows(
        city["admin"],
        "SELECT g.uscc, g.industry_code, i.department_code, g.grade_class FROM marts.fct_industry_credit_grades g"
        " JOIN marts.dim_industries i USING (industry_code) WHERE g.evaluation_period = %s AND g.grade_class = 'B'"
        " ORDER BY g.uscc LIMIT 1", (PERIOD,))[0]  # fmt: skip
    before = _measures(city, uscc, industry)
    folder = city["inbox"] / "departments" / department
    with open(folder / "grade_adjustments_objection.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["调整编号", "统一社会信用代码", "行业代码", "评价期", "调整后等级", "调整理由", "审批人",
                    "审批日期", "异议编号"])  # fmt: skip
        w.writerow(["TZ-YY-1", uscc, industry, PERIOD, "A-", "异议成立，更正评价结果", "王局长", "2025-12-20",
                    "YY-2025-001"])  # fmt: skip
    result = load_file(libpq_url(url_for("loader", city["url"])),
                       f"departments/{department}/grade_adjustments_objection.csv", inbox=city["inbox"],
                       archive_dir=city["archive"])  # fmt: skip
    assert result.status == "loaded" and result.rows_loaded == 1, result
    dbt_build(city)

    after = _measures(city, uscc, industry)
    ((today,),) = _rows(city["admin"],  # the day the correcting grading run took effect
                        "SELECT (valid_from AT TIME ZONE 'Asia/Shanghai')::date FROM marts.fct_grade_history"
                        " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s AND version_number = 2",
                        (uscc, industry, PERIOD))  # fmt: skip
    old = [m for m in after if m[0] == 1]
    new = [m for m in after if m[0] == 2]
    assert {m[2] for m in old} == {m[2] for m in before} == _seed_measures(industry, "B")
    assert all(m[6] == today and m[4] == today - dt.timedelta(days=1) and "YY-2025-001" in m[7] for m in old), old
    assert {m[2] for m in new} == _seed_measures(industry, "A") and all(m[1] == "A" for m in new)
    assert all(m[3] == today and m[6] is None and m[4] == m[5] for m in new)


def test_each_department_gets_its_subjects_measures_as_a_workbook(city, tmp_path):
    publisher = libpq_url(url_for("publisher", city["url"]))
    assert run_checkpoint(publisher, "marts").success  # publication takes validated grades only
    publish(publisher, outbox=tmp_path / "outbox", spool=tmp_path / "spool")
    # A re-grading's reason, typed by a clerk, that holds a resident ID number: the measures it ended
    # reach the department without it.
    ((uscc, code),) = _rows(city["admin"],
                            "SELECT m.uscc, m.measure_code FROM marts.fct_subject_measures m JOIN publish.grades g"
                            " USING (uscc, industry_code, evaluation_period) WHERE m.evaluation_period = %s"
                            " ORDER BY 1, 2 LIMIT 1", (PERIOD,))  # fmt: skip
    with psycopg.connect(city["admin"]) as conn:
        conn.execute("UPDATE marts.fct_subject_measures SET ended_because = %s WHERE uscc = %s AND measure_code = %s",
                     ("重新评价：申请人 张三 身份证 1101 0119 9003 0777 77 来电", uscc, code))  # fmt: skip
    written = [w for w in workbooks.write(publisher, tmp_path / "outbox") if w.workbook == "measures"]
    assert written and {w.status for w in written} == {"written"}
    headers = [h for _, h, *_ in config.load().workbooks["measures"].columns]
    found = 0
    for book in written:
        ws = load_workbook(book.path).active
        assert [c.value for c in ws[1]] == headers and ws.max_row - 1 == book.rows
        assert ws.page_setup.orientation == "landscape" and ws.auto_filter.ref and ws.print_title_rows
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) and "&P" in ws.oddFooter.center.text
        in_book = {(r[0], r[5]) for r in ws.iter_rows(min_row=2, values_only=True)}
        expected = set(_rows(city["admin"],
                             "SELECT m.uscc, m.measure_code FROM marts.fct_subject_measures m JOIN publish.grades g"
                             " USING (uscc, industry_code, evaluation_period) WHERE m.department_code = %s"
                             " AND m.evaluation_period = %s", (book.department_code, book.period)))  # fmt: skip
        assert in_book == expected
        kinds = {r[7] for r in ws.iter_rows(min_row=2, values_only=True)}
        assert kinds <= set(workbooks.MEASURE_KINDS.values())
        cells = [str(v) for r in ws.iter_rows(values_only=True) for v in r if v is not None]
        assert not [c for c in cells if PLANTED_ID in re.sub(r"\s", "", c)], book.path
        masked = [r for r in ws.iter_rows(min_row=2, values_only=True) if (r[0], r[5]) == (uscc, code)]
        assert all(r[-1] == workbooks.MASKED_REASON for r in masked)
        found += len(masked)
        # Who applies each measure and its legal basis: a sheet of their own, one row per measure named.
        basis = load_workbook(book.path)["措施依据"]
        assert [c.value for c in basis[1]] == [h for _, h, *_ in config.load().workbooks["measure_basis"].columns]
        listed = {r[0]: r for r in basis.iter_rows(min_row=2, values_only=True)}
        assert set(listed) == {m for _, m in in_book} and basis.page_setup.orientation == "landscape"
        with (paths().dbt_project / "seeds" / "supervision_measures.csv").open(encoding="utf-8") as fh:
            seed = {m["measure_code"]: m for m in csv.DictReader(fh) if m["department_code"] == book.department_code}
        assert all(listed[m][3:] == (seed[m]["applied_by"], seed[m]["legal_basis"]) for m in listed)
    assert found == 1

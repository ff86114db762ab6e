"""Grading by period, incrementally, on a small generated city loaded and graded for real.

A closed period that nothing touched is kept as it was built (the same tuples, by their ``xmin``),
while the open period is computed again only for the subjects the new batches touch; a manual
adjustment of the closed period computes its grades and explanations again but keeps its records
and points; a re-grading computes it all again. A correction that moves a penalty to another
subject computes both again; a batch that stops counting computes the open period whole. After
each step a ``--full-refresh`` build, which computes every period from scratch, gives the same rows
in all seven models graded by period. Without the table of built periods (a warehouse of the
release before), the next build keeps nothing and computes every period again.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import psycopg
import pytest
from conftest import dbt_build

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.grading.periods import close_period, regrade
from credit_platform.ingest.loader import load_file
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

CLOSED, OPEN = "2025-H1", "2025-H2"
RECORDS = ("intermediate.int_subject_industries_scoped", "intermediate.int_province_evaluations_in_force",
           "intermediate.int_external_grades_in_force", "intermediate.int_indicator_records_by_period",
           "intermediate.int_indicator_points")  # fmt: skip
GRADES = ("marts.fct_industry_credit_grades", "marts.fct_grade_explanations")
MODELS = RECORDS + GRADES


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("incremental") as c:
        yield c


def _tuples(admin: str) -> dict[tuple[str, str], set[str]]:
    """The transactions that wrote each model's rows of each period (a kept period keeps them)."""
    with psycopg.connect(admin) as conn:
        return {(m, p): set(x) for m in MODELS for p, x in conn.execute(
            f"SELECT evaluation_period, array_agg(DISTINCT xmin::text) FROM {m} GROUP BY 1")}  # noqa: S608  # fmt: skip


def _subjects_written(admin: str, period: str) -> dict[str, dict[str, set[str]]]:
    """Per model, the transactions that wrote each subject's rows of one period."""
    with psycopg.connect(admin) as conn:
        return {m: {u: set(x) for u, x in conn.execute(
            f"SELECT uscc, array_agg(DISTINCT xmin::text) FROM {m} WHERE evaluation_period = %s GROUP BY 1",  # noqa: S608
            (period,))} for m in MODELS}  # fmt: skip


def _rewritten(before: dict[str, dict[str, set[str]]], after: dict[str, dict[str, set[str]]]) -> dict[str, set[str]]:
    """Per model, the subjects whose rows of the period a build wrote, removed or added."""
    return {m: {u for u in before[m].keys() | after[m].keys() if before[m].get(u) != after[m].get(u)}
            for m in MODELS}  # fmt: skip


def _touched(admin: str) -> set[str]:
    with psycopg.connect(admin) as conn:
        return {u for (u,) in conn.execute("SELECT uscc FROM intermediate.int_open_period_changes")}


def _contents(admin: str) -> dict[tuple[str, str], tuple[int, str]]:
    """Each model's rows per period: their number and an md5 of them in order."""
    with psycopg.connect(admin) as conn:
        return {(m, p): (n, digest) for m in MODELS for p, n, digest in conn.execute(
            f"SELECT evaluation_period, count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {m} AS t"  # noqa: S608
            " GROUP BY 1")}  # fmt: skip


def _same_as_full_refresh(city: dict) -> dict[tuple[str, str], tuple[int, str]]:
    incremental = _contents(city["admin"])
    res = run_dbt(["build", "--quiet", "--full-refresh", "--exclude-resource-type", "unit_test"],
                  base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    assert _contents(city["admin"]) == incremental, "an incremental build differs from a full rebuild"
    return incremental


def _load(city: dict, rel: str, header: list[str], rows: list[list[str]]) -> None:
    path = Path(city["inbox"]) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    load_file(libpq_url(url_for("loader", city["url"])), rel, inbox=city["inbox"], archive_dir=city["archive"])
    with psycopg.connect(city["admin"]) as conn:
        status = conn.execute("SELECT status FROM ops.load_batches WHERE source_file = %s"
                              " ORDER BY batch_id DESC LIMIT 1", (rel,)).fetchone()  # fmt: skip
    assert status == ("loaded",), (rel, status)


def test_a_closed_period_is_kept_until_its_inputs_change_and_equals_a_full_rebuild(city):
    admin = city["admin"]
    close_period(admin, CLOSED, requested_by="数据组")
    dbt_build(city)  # the closing computes the closed period once more, under its cutoff
    with psycopg.connect(admin) as conn:
        built = conn.execute("SELECT model_name, evaluation_period FROM intermediate.int_built_periods"
                             " ORDER BY 1, 2").fetchall()  # fmt: skip
        graded = conn.execute(
            "SELECT uscc, industry_code, department_code, grade FROM marts.fct_industry_credit_grades"
            " WHERE evaluation_period = %s AND grade_class IN ('A', 'B') ORDER BY 1, 2 LIMIT 40", (CLOSED,)
        ).fetchall()  # fmt: skip
    assert built == sorted((m.split(".")[1], p) for m in MODELS for p in (CLOSED, OPEN))
    first = _tuples(admin)
    open_before = _subjects_written(admin, OPEN)

    # A province push after the cutoff: late for the closed period, counted in the open one.
    _load(city, "province/province_evaluation_2025H1_late.csv", ["统一社会信用代码", "评价等级", "评价日期", "批次号"],
          [[u, "D", "2025-06-29", "SX-PJ-LATE"] for u, *_ in graded])  # fmt: skip
    dbt_build(city)
    second = _tuples(admin)
    pushed = {u for u, *_ in graded}
    assert _touched(admin) == pushed
    open_after = _subjects_written(admin, OPEN)
    rewritten = _rewritten(open_before, open_after)
    for m in MODELS:
        assert second[(m, CLOSED)] == first[(m, CLOSED)], f"{m}: the closed period was computed again"
        # the open period: the pushed subjects' rows again, every other subject's rows kept
        present = open_before[m].keys() | open_after[m].keys()
        assert rewritten[m] == pushed & present, f"{m}: not only the pushed subjects were computed"
    assert rewritten[RECORDS[1]] and len(open_before[RECORDS[1]]) > 5 * len(pushed)
    contents = _same_as_full_refresh(city)

    # A manual adjustment of a closed grade: grades and explanations of that period again, not its points.
    uscc, industry, department, grade = graded[0]
    _load(city, f"departments/{department}/grade_adjustments_incremental.csv",
          ["调整编号", "统一社会信用代码", "行业代码", "评价期", "调整后等级", "调整理由", "审批人", "审批日期"],
          [["TZ-INC-1", uscc, industry, CLOSED, "C", "复核下调", "李主任", "2026-01-10"]])  # fmt: skip
    before = _tuples(admin)
    dbt_build(city)
    after = _tuples(admin)
    for m in RECORDS:
        assert after[(m, CLOSED)] == before[(m, CLOSED)], f"{m}: records and points were computed again"
    for m in GRADES:
        assert after[(m, CLOSED)].isdisjoint(before[(m, CLOSED)]), f"{m}: the adjustment was not taken in"
    with psycopg.connect(admin) as conn:
        assert conn.execute(
            "SELECT grade, grade_basis FROM marts.fct_industry_credit_grades"
            " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s", (uscc, industry, CLOSED)
        ).fetchone() == ("C", "adjusted") != (grade, "computed")  # fmt: skip
    adjusted = _same_as_full_refresh(city)
    assert adjusted != contents

    # A logged re-grading moves the cutoff: the late push now counts for the closed period too.
    regrade(admin, CLOSED, requested_by="王科长", reason="省级评价补报")
    before = _tuples(admin)
    dbt_build(city)
    after = _tuples(admin)
    for m in MODELS:
        assert after[(m, CLOSED)].isdisjoint(before[(m, CLOSED)]), f"{m}: the re-grading was not computed"
    regraded = _same_as_full_refresh(city)
    assert regraded[(RECORDS[1], CLOSED)] != adjusted[(RECORDS[1], CLOSED)]  # the late push counts now

    # A warehouse without the table of built periods (as the release before grading by period left
    # it): the next build creates the table, keeps nothing and computes every period again.
    with psycopg.connect(admin) as conn:
        conn.execute("DROP TABLE intermediate.int_built_periods")
    before = _tuples(admin)
    dbt_build(city)
    after = _tuples(admin)
    assert all(after[k].isdisjoint(before[k]) for k in before), "a period was kept without a recorded signature"
    assert _contents(admin) == regraded


def test_a_correction_computes_both_subjects_and_a_batch_that_stops_counting_the_whole_open_period(city):
    """A penalty re-delivered under another credit code (its key, department and decision number,
    does not name the subject): the open period is computed again for the subject it leaves and the
    one it joins, and equals a full rebuild. Then a counted batch stops counting (quarantined after
    the fact): nothing of the open period can be kept."""
    admin = city["admin"]
    with psycopg.connect(admin) as conn:
        penalty = conn.execute(
            "SELECT p.department_code, p.uscc, p.decision_number, p.violation_type, p.penalty_category,"
            "       p.decision_date, p.publication_end_date, p.fine_amount"
            " FROM raw.penalties AS p"
            " JOIN intermediate.int_indicator_records_by_period AS r"
            "   ON r.raw_table = 'penalties' AND r.batch_id = p.batch_id AND r.row_number = p.row_number"
            " WHERE r.evaluation_period = %s AND p.department_code <> 'jtj' AND p.decision_number <> ''"
            " ORDER BY p.batch_id, p.row_number LIMIT 1", (OPEN,)).fetchone()  # fmt: skip
        assert penalty, "the generated city has a penalty counted in the open period"
        department, leaves = penalty[0], penalty[1]
        (joins,) = conn.execute(
            "SELECT uscc FROM marts.fct_industry_credit_grades WHERE evaluation_period = %s AND uscc <> %s"
            " ORDER BY uscc LIMIT 1", (OPEN, leaves)).fetchone()  # fmt: skip
    before = _subjects_written(admin, OPEN)
    _load(city, f"departments/{department}/penalties_correction.csv",
          ["CF_XDR_SHXYM", "CF_WSH", "CF_WFXW", "CF_CFLB", "CF_JDRQ", "CF_GSJZQ", "CF_NR_FK"],
          [[joins, *[("" if v is None else str(v)) for v in penalty[2:]]]])  # fmt: skip
    dbt_build(city)
    assert _touched(admin) == {leaves, joins}
    after = _subjects_written(admin, OPEN)
    rewritten = _rewritten(before, after)
    assert rewritten["intermediate.int_indicator_records_by_period"] == {leaves, joins}
    for m in MODELS:
        assert rewritten[m] <= {leaves, joins}, f"{m}: a subject the correction does not touch was computed"
    with psycopg.connect(admin) as conn:
        moved = conn.execute(
            "SELECT DISTINCT uscc FROM intermediate.int_indicator_records_by_period"
            " WHERE evaluation_period = %s AND raw_table = 'penalties' AND record_text IS NOT DISTINCT FROM %s"
            " AND uscc IN (%s, %s)", (OPEN, penalty[3], leaves, joins)).fetchall()  # fmt: skip
    assert (joins,) in moved
    corrected = _same_as_full_refresh(city)
    # A batch's subjects can be read through each raw table's primary key: the filter reaches every
    # table (the small city's tables are read whole, cheaper at this size, unless told not to).
    with psycopg.connect(admin) as conn:
        (batch,) = conn.execute("SELECT max(batch_id) FROM ops.load_batches").fetchone()
        conn.execute("SET enable_seqscan = off")
        ((plan,),) = conn.execute("EXPLAIN (FORMAT JSON) SELECT * FROM staging.stg_raw__batch_subjects"
                                  " WHERE batch_id = ANY(%s::bigint[])", ([batch],)).fetchall()  # fmt: skip
    scans = re.findall(r'"Node Type": "([A-Za-z ]*Scan)"', json.dumps(plan))
    assert scans and "Seq Scan" not in scans, scans

    # The correction's batch stops counting (quarantined after the fact): the open period whole.
    with psycopg.connect(admin) as conn:
        conn.execute("UPDATE ops.load_batches SET status = 'quarantined' WHERE source_file = %s",
                     (f"departments/{department}/penalties_correction.csv",))  # fmt: skip
    before = _subjects_written(admin, OPEN)
    dbt_build(city)
    after = _subjects_written(admin, OPEN)
    for m in MODELS:
        assert all(after[m][u].isdisjoint(before[m].get(u, set())) for u in after[m]), f"{m}: a subject was kept"
    assert _same_as_full_refresh(city) != corrected

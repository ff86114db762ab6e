"""Grading by period, incrementally, on a small generated city loaded and graded for real.

A closed period that nothing touched is kept as it was built (the same tuples, by their ``xmin``),
while the open period is computed again; a manual adjustment of the closed period computes its
grades and explanations again but keeps its records and points; a re-grading computes it all
again. After each step a ``--full-refresh`` build, which computes every period from scratch,
gives the same rows in all seven models graded by period. Without the table of built periods (a
warehouse of the release before), the next build keeps nothing and computes every period again.
"""

from __future__ import annotations

import csv
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
    assert built == sorted((m.split(".")[1], CLOSED) for m in MODELS)
    first = _tuples(admin)

    # A province push after the cutoff: late for the closed period, counted in the open one.
    _load(city, "province/province_evaluation_2025H1_late.csv", ["统一社会信用代码", "评价等级", "评价日期", "批次号"],
          [[u, "D", "2025-06-29", "SX-PJ-LATE"] for u, *_ in graded])  # fmt: skip
    dbt_build(city)
    second = _tuples(admin)
    for m in MODELS:
        assert second[(m, CLOSED)] == first[(m, CLOSED)], f"{m}: the closed period was computed again"
        assert second[(m, OPEN)].isdisjoint(first[(m, OPEN)]), f"{m}: the open period was not computed again"
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

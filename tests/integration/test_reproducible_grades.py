"""Explainable and reproducible grades, on a small generated city loaded and graded for real.

Explanations resolve to raw rows and load batches. A closed period keeps its grades through a later
province push and a weight change (a new rule version that would apply to it retroactively);
emptying raw and dropping the dbt tables, then rebuilding only from the archive, gives every grade
back row by row; re-grading the closed period is a logged action that takes the late records in
and shows up in the grade history.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

import psycopg
import pytest
from conftest import dbt_build

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.grading.explain import explain, resolve
from credit_platform.grading.periods import PeriodError, close_period, rebuild, regrade
from credit_platform.ingest.archive import read_ledger
from credit_platform.ingest.loader import load_file
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

CLOSED, OPEN = "2025-H1", "2025-H2"
LATE_SUBJECTS = 60


@pytest.fixture(scope="module")
def city(graded_city):
    """A graded city of 1,500 subjects, loaded through the loader (so the archive has its ledger)."""
    with graded_city("repro") as c:
        yield c


def _grades(admin: str, period: str | None = None) -> list[tuple]:
    with psycopg.connect(admin) as conn:
        return conn.execute(
            "SELECT uscc, industry_code, evaluation_period, score, grade, grade_class, is_vetoed, veto_rule_code,"
            " has_sufficient_data, rule_version, adjustment_id, grade_basis FROM marts.fct_industry_credit_grades"
            " WHERE %(p)s::text IS NULL OR evaluation_period = %(p)s ORDER BY 1, 2, 3",
            {"p": period}).fetchall()  # fmt: skip


def test_explanations_resolve_to_raw_rows_and_load_batches(city):
    transformer = libpq_url(url_for("transformer", city["url"]))
    with psycopg.connect(transformer) as conn:
        lines = conn.execute(
            "SELECT uscc, industry_code, evaluation_period, line_kind, indicator_code, rule_code, source_record_ids"
            " FROM marts.fct_grade_explanations WHERE cardinality(source_record_ids) > 0").fetchall()  # fmt: skip
        kinds = {(k, c) for _, _, _, k, _, c, _ in lines}
        assert ("indicator", "grade_share") in kinds and ("indicator", "deduct_per_item") in kinds
        sample = random.Random(1).sample(lines, 300)
        for uscc, _, _, kind, indicator, _, ids in sample:
            for rid in ids:
                rec = resolve(conn, rid)
                assert rec["uscc"] == uscc, rid
                batch = conn.execute("SELECT status, file_sha256 FROM ops.load_batches WHERE batch_id = %s",
                                     (rec["batch_id"],)).fetchone()  # fmt: skip
                assert batch[0] == "loaded" and (city["archive"] / batch[1]).is_file()
                if kind == "indicator" and indicator == "penalties":
                    assert rec["table"] == "penalties"
        # every grade's lines add up to its score, to the cent
        bad = conn.execute(
            "SELECT count(*) FROM marts.fct_industry_credit_grades g JOIN (SELECT uscc, industry_code,"
            " evaluation_period, sum(points) AS total FROM marts.fct_grade_explanations GROUP BY 1, 2, 3) e"
            " USING (uscc, industry_code, evaluation_period) WHERE e.total <> g.score").fetchone()[0]  # fmt: skip
        assert bad == 0
        uscc = sample[0][0]
    text = explain(transformer, uscc, period=OPEN)
    assert uscc in text and "合计 total" in text and "来源" in text


def _late_province_push(inbox: Path, subjects: list[str]) -> str:
    """A province correction dated inside the closed period, grading the given subjects D."""
    rel = "province/province_evaluation_2025H1_correction.csv"
    with open(inbox / rel, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["统一社会信用代码", "评价等级", "评价日期", "批次号"])
        for code in subjects:
            w.writerow([code, "D", "2025-06-29", "SX-PJ-2025H1-FIX"])
    return rel


def _new_rule_version(project: Path) -> None:
    """HR-2025.2 replaces HR-2025.1 from 2025-01-01, retroactively, and moves 10 points of commerce's weight."""
    seeds = project / "seeds"
    for path in seeds.glob("*.csv"):
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        if not rows or "rule_version" not in rows[0]:
            continue
        if path.name == "rule_versions.csv":
            rows[0]["effective_to"] = "2024-12-31"
            rows.append({**rows[0], "rule_version": "HR-2025.2", "effective_from": "2025-01-01", "effective_to": "",
                         "description": "penalties weigh more in commerce"})  # fmt: skip
        else:
            extra = [{**r, "rule_version": "HR-2025.2"} for r in rows if r["rule_version"] == "HR-2025.1"]
            for r in extra:
                if path.name == "indicator_catalogue.csv" and r["industry_code"] == "commerce":
                    if r["indicator_code"] in ("penalties", "province_evaluation"):
                        r["weight"] = str(int(r["weight"]) + (10 if r["indicator_code"] == "penalties" else -10))
            rows += extra
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)


def test_closed_period_survives_late_data_weight_change_and_rebuild_from_archive(city):
    url, admin, inbox, archive, project = city["url"], city["admin"], city["inbox"], city["archive"], city["project"]
    with pytest.raises(PeriodError, match="not closed"):
        regrade(admin, CLOSED, requested_by="王科长", reason="nothing to re-grade yet")
    close_period(admin, CLOSED, requested_by="数据组")
    with pytest.raises(PeriodError, match="was closed"):
        close_period(admin, CLOSED, requested_by="数据组")
    with pytest.raises(PeriodError, match="unknown evaluation period"):
        close_period(admin, "2025-H3", requested_by="数据组")
    with psycopg.connect(admin) as conn:  # a period that has not ended yet (the mart is rebuilt by dbt)
        conn.execute("INSERT INTO marts.dim_evaluation_periods"
                     " VALUES ('2099-H1', '2099-01-01', '2099-06-30', 'half_year')")
    with pytest.raises(PeriodError, match="ends on 2099-06-30"):
        close_period(admin, "2099-H1", requested_by="数据组")
    dbt_build(city)
    closed_before = _grades(admin, CLOSED)
    assert closed_before and {g[9] for g in closed_before} == {"HR-2025.1"}

    # Editing the closed period's rules in place is refused: the grading fails on the fingerprint.
    catalogue = project / "seeds" / "indicator_catalogue.csv"
    original = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(original.replace(",grade_share,,0.7,", ",grade_share,,0.6,", 1), encoding="utf-8")
    res = run_dbt(["build", "--quiet"], base_url=url, capture=True, project=project)
    assert res.returncode != 0 and "rules_unchanged_since_closing" in res.stdout
    assert _grades(admin, CLOSED) == closed_before
    catalogue.write_text(original, encoding="utf-8")

    # Later: a province correction dated inside the closed period, and a new rule version.
    with psycopg.connect(admin) as conn:
        graded_a = [r[0] for r in conn.execute(
            "SELECT DISTINCT uscc FROM marts.fct_industry_credit_grades WHERE evaluation_period = %s"
            " AND grade_class IN ('A', 'B') ORDER BY 1 LIMIT %s", (CLOSED, LATE_SUBJECTS))]  # fmt: skip
    load_file(libpq_url(url_for("loader", url)), _late_province_push(inbox, graded_a), inbox=inbox,
              archive_dir=archive)  # fmt: skip
    _new_rule_version(project)
    dbt_build(city)

    assert _grades(admin, CLOSED) == closed_before, "a closed period changed"
    open_after = _grades(admin, OPEN)
    assert {g[9] for g in open_after} == {"HR-2025.2"}
    with psycopg.connect(admin) as conn:
        late = conn.execute(
            "SELECT count(*), count(DISTINCT uscc) FROM marts.fct_late_records"
            " WHERE evaluation_period = %s AND raw_table = 'province_evaluations'", (CLOSED,)).fetchone()  # fmt: skip
        assert late == (LATE_SUBJECTS, LATE_SUBJECTS)
        versions_before = conn.execute("SELECT count(*) FROM history.grade_versions").fetchone()[0]
        raw_before = conn.execute("SELECT count(*) FROM raw.province_evaluations").fetchone()[0]
    everything_before = _grades(admin)

    # Drop raw through marts and rebuild from the archive alone: the inbox is gone.
    shutil.rmtree(inbox)
    assert len(read_ledger(archive)) >= 80
    report = rebuild(admin, archive_dir=archive, dbt_project=project)
    assert report.from_database_only == [] and report.batches == len(read_ledger(archive))
    assert _grades(admin) == everything_before, "the rebuild did not reproduce the grades"
    with psycopg.connect(admin) as conn:
        assert conn.execute("SELECT count(*) FROM raw.province_evaluations").fetchone()[0] == raw_before
        assert conn.execute("SELECT count(*) FROM history.grade_versions").fetchone()[0] == versions_before
        assert conn.execute("SELECT count(*) FROM ops.load_batches WHERE relanded_at IS NOT NULL").fetchone()[0] \
            == report.batches

    # Re-grading the closed period is explicit and logged; it takes the late push in.
    with pytest.raises(PeriodError, match="reason"):
        regrade(admin, CLOSED, requested_by="王科长", reason=" ")
    regrade(admin, CLOSED, requested_by="王科长", reason="省级评价更正 2025H1-FIX")
    dbt_build(city)
    regraded = {(g[0], g[1]): g for g in _grades(admin, CLOSED)}
    before = {(g[0], g[1]): g for g in closed_before}
    moved = {k for k in before if regraded[k][4] != before[k][4]}
    assert moved and {k[0] for k in moved} <= set(graded_a)
    assert {g[9] for g in regraded.values()} == {"HR-2025.1"}  # re-graded under the version it was closed with
    with psycopg.connect(admin) as conn:
        actions = conn.execute("SELECT action, requested_by FROM ops.period_closures WHERE evaluation_period = %s"
                               " ORDER BY closure_id", (CLOSED,)).fetchall()  # fmt: skip
        assert actions == [("close", "数据组"), ("regrade", "王科长")]
        assert conn.execute("SELECT count(*) FROM marts.fct_late_records WHERE evaluation_period = %s",
                            (CLOSED,)).fetchone()[0] == 0  # fmt: skip
        uscc, industry = sorted(moved)[0]
        history = conn.execute(
            "SELECT version_number, grade, is_current, valid_because, stopped_because FROM marts.fct_grade_history"
            " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s ORDER BY version_number",
            (uscc, industry, CLOSED)).fetchall()  # fmt: skip
    assert [h[0] for h in history] == [1, 2]
    assert history[0][1] == before[(uscc, industry)][4] and not history[0][2] and history[1][2]
    assert "省级评价更正 2025H1-FIX" in history[1][3] and history[0][4] == history[1][3]


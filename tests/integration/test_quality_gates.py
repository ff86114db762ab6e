"""The marts checkpoint and the drift gate on a generated city graded for real.

Each cross-table rule of the marts suite passes on the city and fails, naming itself, when the
marts are broken on purpose; a failed checkpoint blocks publication. A synthetic shift of one
industry's classes blocks publication until the period is released, and the first period, with no
baseline, passes with a note.
"""

from __future__ import annotations

import pytest
from sql import rows

from credit_platform.publish import PublicationBlocked, publish
from credit_platform.quality.checkpoints import ValidationFailed, run_checkpoint
from credit_platform.quality.drift import check_drift, release
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

LATEST, FIRST = "2025-H2", "2025-H1"


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("gates") as c:
        yield c


BREAKS = [
    (  # a computed grade that does not follow its score
        "等级与得分及分档一致",
        "UPDATE marts.fct_industry_credit_grades SET grade = CASE grade WHEN 'A' THEN 'B' ELSE 'A' END"
        " WHERE ctid = (SELECT ctid FROM marts.fct_industry_credit_grades WHERE grade_basis = 'computed'"
        " AND NOT is_vetoed AND has_sufficient_data AND evaluation_period = %(p)s LIMIT 1)"
        " RETURNING uscc, industry_code, evaluation_period",
    ),
    (  # a subject on the serious-dishonesty list adjusted above D
        "严重失信主体不高于 D",
        "UPDATE marts.fct_industry_credit_grades SET grade_basis = 'serious_dishonesty', veto_rule_code ="
        " 'SERIOUS_DISHONESTY', is_vetoed = true, grade = 'A', grade_class = 'A'"
        " WHERE ctid = (SELECT ctid FROM marts.fct_industry_credit_grades WHERE evaluation_period = %(p)s"
        " ORDER BY uscc LIMIT 1) RETURNING uscc, industry_code, evaluation_period",
    ),
    (  # an explanation line lost
        "说明分值之和等于得分",
        "DELETE FROM marts.fct_grade_explanations WHERE ctid = (SELECT ctid FROM marts.fct_grade_explanations"
        " WHERE points > 0 AND evaluation_period = %(p)s LIMIT 1) RETURNING uscc, industry_code, evaluation_period",
    ),
    (  # a supervised subject left ungraded
        "监管范围内主体均已评价",
        "DELETE FROM marts.fct_industry_credit_grades WHERE ctid = (SELECT g.ctid FROM marts.fct_industry_credit_grades"
        " g JOIN marts.dim_subjects d USING (uscc) WHERE g.evaluation_period = %(p)s AND NOT d.is_deregistered LIMIT 1)"
        " RETURNING uscc, industry_code, evaluation_period",
    ),
]


@pytest.mark.parametrize("rule, breaking_sql", BREAKS,
                         ids=["cut_points", "listed_at_d", "explanation_sum", "all_graded"])  # fmt: skip
def test_each_marts_rule_holds_on_real_grades_and_fails_naming_itself(city, rule, breaking_sql, tmp_path):
    admin, publisher = city["admin"], libpq_url(url_for("publisher", city["url"]))
    # keep copies to put back: the module's grades serve every case
    rows(admin, "CREATE TABLE IF NOT EXISTS public.keep_grades AS TABLE marts.fct_industry_credit_grades")
    rows(admin, "CREATE TABLE IF NOT EXISTS public.keep_lines AS TABLE marts.fct_grade_explanations")
    assert run_checkpoint(publisher, "marts").success
    broken = rows(admin, breaking_sql, {"p": LATEST})
    assert broken, "nothing to break"
    try:
        with pytest.raises(ValidationFailed) as failure:
            run_checkpoint(publisher, "marts")
        message = str(failure.value)
        assert rule in message and "1 unexpected" in message, message
        with pytest.raises(PublicationBlocked, match="latest marts checkpoint"):
            publish(publisher, outbox=tmp_path, spool=tmp_path / "spool")
        last = rows(admin, "SELECT success, failed FROM ops.validation_runs WHERE stage = 'marts'"
                            " ORDER BY validation_run_id DESC LIMIT 1")  # fmt: skip
        assert last == [(False, 1)]
    finally:
        rows(admin, "TRUNCATE marts.fct_industry_credit_grades, marts.fct_grade_explanations;"
                     " INSERT INTO marts.fct_industry_credit_grades SELECT * FROM public.keep_grades;"
                     " INSERT INTO marts.fct_grade_explanations SELECT * FROM public.keep_lines")  # fmt: skip
    assert run_checkpoint(publisher, "marts").success


def test_drift_blocks_publication_until_released(city, tmp_path, monkeypatch):
    admin, publisher = city["admin"], libpq_url(url_for("publisher", city["url"]))
    monkeypatch.setenv("CREDIT_DRIFT_PSI_THRESHOLD", "0.25")
    first = check_drift(publisher, FIRST)
    assert first.success and all("no baseline" in i["note"] for i in first.industries)
    assert run_checkpoint(publisher, "marts").success
    baseline = check_drift(publisher, LATEST)
    assert baseline.success, baseline.message()
    assert publish(publisher, outbox=tmp_path, spool=tmp_path / "spool")

    # A synthetic shift: most of commerce's B grades become C in the latest period.
    rows(admin, "CREATE TABLE public.keep_commerce AS SELECT * FROM marts.fct_industry_credit_grades"
                 " WHERE industry_code = 'commerce' AND evaluation_period = %(p)s", {"p": LATEST})  # fmt: skip
    try:
        rows(admin, "UPDATE marts.fct_industry_credit_grades SET grade = 'C', grade_class = 'C'"
                     " WHERE industry_code = 'commerce' AND evaluation_period = %(p)s AND grade_class = 'B'"
                     " AND uscc < (SELECT percentile_disc(0.8) WITHIN GROUP (ORDER BY uscc)"
                     "             FROM marts.fct_industry_credit_grades WHERE industry_code = 'commerce')",
              {"p": LATEST})  # fmt: skip
        drifted = check_drift(publisher, LATEST)
        assert not drifted.success and [i["industry_code"] for i in drifted.drifted] == ["commerce"]
        assert "commerce PSI" in drifted.message() and "credit-platform release 2025-H2" in drifted.message()
        with pytest.raises(PublicationBlocked, match="drifted from the previous period beyond PSI 0.25") as blocked:
            publish(publisher, outbox=tmp_path, spool=tmp_path / "spool")
        assert "commerce" in str(blocked.value)
        with pytest.raises(ValueError, match="reason"):
            release(admin, LATEST, reason=" ", approved_by="王科长")
        approval = release(admin, LATEST, reason="商务局核实：本期集中查处，变化属实", approved_by="王科长")
        assert publish(publisher, outbox=tmp_path, spool=tmp_path / "spool")
        assert rows(admin, "SELECT evaluation_period, approved_by FROM ops.publication_approvals"
                            " WHERE approval_id = %s", (approval,)) == [(LATEST, "王科长")]  # fmt: skip
        # a later drift check of the same period needs its own release
        assert not check_drift(publisher, LATEST).success
        with pytest.raises(PublicationBlocked):
            publish(publisher, outbox=tmp_path, spool=tmp_path / "spool")
    finally:
        rows(admin, "DELETE FROM marts.fct_industry_credit_grades WHERE industry_code = 'commerce'"
                     " AND evaluation_period = %(p)s", {"p": LATEST})  # fmt: skip
        rows(admin, "INSERT INTO marts.fct_industry_credit_grades SELECT * FROM public.keep_commerce")
        rows(admin, "DROP TABLE public.keep_commerce")
    assert check_drift(publisher, LATEST).success

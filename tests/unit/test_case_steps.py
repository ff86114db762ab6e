"""The steps an objection or a repair application may take (credit_platform.redress.cases): every
allowed step is planned, every other one refused with a message that names what can be done."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from credit_platform.redress import cases

ON = dt.date(2026, 3, 2)
STATES = list(cases.STATE_LABELS["objection"])
ALLOWED = {("received", "accepted"), ("received", "refused"), ("accepted", "under_review"),
           ("under_review", "upheld"), ("under_review", "partly_upheld"), ("under_review", "rejected"),
           ("refused", "answered"), ("upheld", "answered"), ("partly_upheld", "answered"),
           ("rejected", "answered")}  # fmt: skip


def _case(kind: str, state: str, **kw) -> dict:
    c = {"department_code": "scjgj", "state": state, "received_date": dt.date(2026, 2, 10), "state_since": None,
         "uscc": "91140624MA0L5B3X2L", "record_found": True, "is_after_minimum_period": True,
         "may_apply_from": dt.date(2026, 1, 1), "publication_rule": "PUB-2026", "record_type": "penalty",
         "record_reference": "怀市监罚〔2025〕1号"}  # fmt: skip
    c["objection_number" if kind == "objection" else "application_number"] = "N-1"
    return {**c, **kw}


@pytest.mark.parametrize("kind", cases.KINDS)
@pytest.mark.parametrize(("from_state", "to_state"), list(itertools.product(STATES, STATES)))
def test_every_step_is_allowed_or_refused_as_the_state_machine_says(kind, from_state, to_state):
    reason_code = "out_of_scope" if to_state == "refused" else None
    plan = lambda: cases.plan_step(_case(kind, from_state), kind, to_state, "张三", "核实", on=ON,  # noqa: E731
                                   reason_code=reason_code)  # fmt: skip
    if (from_state, to_state) in ALLOWED:
        step = plan()
        assert (step.from_state, step.to_state, step.actor, step.reason_code) == (from_state, to_state, "张三",
                                                                                   reason_code)  # fmt: skip
    else:
        with pytest.raises(cases.StepRefused) as refused:
            plan()
        message = str(refused.value)
        if to_state == "received":
            assert "there is no state" in message
        else:
            assert f"is {from_state} and cannot move to {to_state}" in message
            assert cases.STATE_LABELS[kind][from_state] in message  # the Chinese label too
            assert ("nothing (closed)" in message) == (from_state == "answered")


def test_the_steps_table_is_what_the_tests_expect():
    assert {(a, b) for a, nexts in cases.STEPS.items() for b in nexts} == ALLOWED


@pytest.mark.parametrize(("kw", "match"), [
    ({"reason_code": None}, "a refusal names its reason"),
    ({"reason_code": "too_early"}, "a refusal names its reason"),  # objections are never too early
    ({"actor": " "}, "say who takes the step"),
    ({"reason": ""}, "say why"),
    ({"on": dt.date(2026, 2, 9)}, "before the case's previous step or its receipt"),
])  # fmt: skip
def test_a_refusal_needs_its_reason_and_every_step_who_why_and_a_possible_day(kw, match):
    args = {"actor": "张三", "reason": "不属于本部门", "on": ON, "reason_code": "out_of_scope", **kw}
    with pytest.raises(cases.StepRefused, match=match):
        cases.plan_step(_case("objection", "received"), "objection", "refused", args.pop("actor"), args.pop("reason"),
                        **args)  # fmt: skip


def test_only_a_refusal_takes_a_reason_code():
    with pytest.raises(cases.StepRefused, match="only a refusal takes a reason code"):
        cases.plan_step(_case("objection", "received"), "objection", "accepted", "张三", "材料齐全", on=ON,
                        reason_code="out_of_time")  # fmt: skip


def test_a_repair_application_before_its_minimum_period_cannot_be_accepted_and_says_from_when():
    c = _case("repair", "received", is_after_minimum_period=False, may_apply_from=dt.date(2026, 6, 1))
    with pytest.raises(cases.StepRefused, match="the subject may apply from 2026-06-01") as refused:
        cases.plan_step(c, "repair", "accepted", "张三", "材料齐全", on=ON)
    assert "自 2026-06-01 起方可申请修复" in str(refused.value)
    step = cases.plan_step(c, "repair", "refused", "张三", "最短公示期未满", on=ON, reason_code="too_early")
    assert step.reason_code == "too_early"
    with pytest.raises(cases.StepRefused, match="no such record"):
        cases.plan_step(_case("repair", "received", record_found=False), "repair", "accepted", "张三", "x", on=ON)


def test_a_filing_is_checked_before_anything_is_written():
    f = cases.Filing("objection", "scjgj", "YY-1", "91140624MA0L5B3X2L", ON, "处罚已撤销", industry="food_drug",
                     evaluation_period="2025-H2")  # fmt: skip
    bad = [(dict(uscc="91140624MA0L5B3X20"), "not a valid unified social credit code"),
           (dict(department_code="nope"), "unknown department code"),
           (dict(grounds=" "), "the grounds must be given"),
           (dict(answer_channel="微信"), "the answer channel must be one of them"),
           (dict(industry=""), "names the industry and the evaluation period"),
           (dict(number="a/b"), "the case number must be given"),
           (dict(received_date=dt.date(2999, 1, 1)), "is in the future")]  # fmt: skip
    assert cases.checked(f).uscc == "91140624MA0L5B3X2L"
    for change, match in bad:
        with pytest.raises(ValueError, match=match):
            cases.checked(cases.Filing(**{**f.__dict__, **change}))
    r = cases.Filing("repair", "scjgj", "XF-1", "91140624MA0L5B3X2L", ON, "已整改", record_type="licence",
                     record_reference="x")  # fmt: skip
    with pytest.raises(ValueError, match="the record type must be penalty or serious_dishonesty"):
        cases.checked(r)

"""The whole-chain benchmark's report (``make bench``): each stage beside its limit, the verdict on its
target, the chain's sum, and the growth between two runs. The runs themselves take minutes and are
``make bench``'s, not the tests'."""

from __future__ import annotations

import json

import pytest

from credit_platform.bench import chain
from credit_platform.bench.chain import Stage


def _stages(load: float, grade: float) -> list[Stage]:
    return [Stage("generate", 9.0, 344, 463_017), Stage("load", load, 139, 463_017),
            Stage("copy", 0.9, 212, 463_017, timed=0.5), Stage("gate", 1.0, 315, 453_763),
            Stage("scan", 0.6, 54, 453_763, timed=0.5), Stage("grade", grade, 164, 215_264),
            Stage("one_pass", 20.0, 54, 215_264, timed=10.0, extra={"differing": 0}),
            Stage("publish", 75.5, 380, 241_283, extra={"seconds_in_checkpoint": 37.71})]  # fmt: skip


def test_each_stage_is_judged_against_its_limit_and_the_chain_leaves_out_the_limits_and_the_generator():
    text = chain.table(_stages(load=0.9, grade=31.0), 100_000)
    lines = {line.split()[0]: line for line in text.splitlines()[2:] if line.strip()}
    assert "x1.80, target at most x2 (meets)" in lines["load"]  # 0.9 s against COPY's 0.5 s
    assert "x2.00, target at most x2 (meets)" in lines["gate"]
    assert "x3.10, target at most x3 (MISSES)" in lines["grade"]
    assert "copy" not in lines and "scan" not in lines  # a limit has no line of its own
    assert "chain (load to draw) 108 s" in text  # 0.9 + 1.0 + 31.0 + 75.5
    assert "the largest process 380 MiB" in text  # the generator's 344 MiB is not the platform's
    assert "publish: seconds_in_checkpoint 37.7" in text


def test_the_growth_between_two_runs_names_what_grows_faster_than_the_city(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDIT_LOCAL_DIR", str(tmp_path))
    (tmp_path / "bench").mkdir()
    for subjects, stages in ((100_000, _stages(0.9, 30.0)), (1_000_000, _stages(9.0, 600.0))):
        (tmp_path / "bench" / f"chain-{subjects}.json").write_text(
            json.dumps({"subjects": subjects, "stages": [s.__dict__ for s in stages]}), encoding="utf-8")
    text = chain.compare(100_000, 1_000_000)
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert "x 10.0" in lines["load"] and "faster than linear" not in lines["load"]
    assert "x 20.0" in lines["grade"] and "faster than linear" in lines["grade"]


@pytest.mark.parametrize("given, expected", [("", 100_000), ("1000000", 1_000_000), ("1_000_000", 1_000_000),
                                             ("250,000", 250_000)])  # fmt: skip
def test_bench_scale(monkeypatch, given, expected):
    monkeypatch.setenv("BENCH_SCALE", given)
    assert chain.scale() == expected


@pytest.mark.parametrize("given", ["a lot", "100", "-5"])
def test_a_bench_scale_that_is_no_size_is_refused_saying_what_to_give(monkeypatch, given):
    monkeypatch.setenv("BENCH_SCALE", given)
    with pytest.raises(ValueError, match="give a number of subjects, at least 200"):
        chain.scale()

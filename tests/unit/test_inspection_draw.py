"""The double-random draw on generated populations: repeatable, sized by the ratios, capped,
overrides kept, inspectors never in conflict, and each subject of a class equally likely."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import chisquare

from credit_platform.inspection import draw as I  # noqa: N812
from credit_platform.inspection.draw import CLASSES, ClassPolicy

POLICY = {"A": ClassPolicy(0.03, 1, 1), "B": ClassPolicy(0.10, 1, 1), "C": ClassPolicy(0.30, 1, 2),
          "D": ClassPolicy(0.65, 1, 4)}  # fmt: skip


def population(n: int, seed: int = 1) -> dict[str, str]:
    rng = random.Random(seed)
    weights = {"A": 0.2, "B": 0.5, "C": 0.2, "D": 0.1}
    return {f"91140681MA{i:07d}X": rng.choices(CLASSES, weights=[weights[c] for c in CLASSES])[0] for i in range(n)}


def test_the_same_seed_gives_the_same_list_and_another_seed_another():
    subjects = population(2_000)
    one = I.draw_matter("2026-H2-scjgj-M1", "沪深300收盘 3912.45", subjects, POLICY)
    again = I.draw_matter("2026-H2-scjgj-M1", "沪深300收盘 3912.45", dict(reversed(subjects.items())), POLICY)
    assert one.drawn == again.drawn  # the input's order does not matter: the population is sorted
    other = I.draw_matter("2026-H2-scjgj-M1", "沪深300收盘 3912.46", subjects, POLICY)
    assert other.drawn != one.drawn and other.sizes == one.sizes
    assert I.draw_matter("2026-H2-scjgj-M2", "沪深300收盘 3912.45", subjects, POLICY).drawn != one.drawn


@pytest.mark.parametrize(("n", "ratio", "minimum", "expected"), [
    (0, 0.05, 1, 0),      # nobody to draw
    (1, 0.05, 1, 1),      # the minimum
    (30, 0.05, 1, 2),     # 1.5 rounds up
    (20, 0.05, 1, 1),     # exactly 1.0: no extra subject from binary rounding
    (100, 0.07, 1, 7),    # 7.000000000000001 in floating point is 7
    (10, 0.30, 1, 3),     # 3.0000000000000004 is 3
    (101, 0.10, 1, 11),   # 10.1 rounds up
    (3, 0.10, 5, 3),      # a minimum above the population takes everyone
    (40, 0.65, 1, 26),
])  # fmt: skip
def test_sample_sizes_are_the_ratio_rounded_up_at_least_the_minimum(n, ratio, minimum, expected):
    assert I.sample_size(n, ratio, minimum) == expected


def test_class_sizes_follow_the_ratios_and_better_classes_are_drawn_less():
    subjects = population(5_000)
    md = I.draw_matter("R-dept-M", "v", subjects, POLICY)
    counts = Counter(subjects.values())
    for cls in CLASSES:
        assert len(md.drawn[cls]) == I.sample_size(counts[cls], POLICY[cls].ratio, 1)
        assert set(md.drawn[cls]) <= {u for u, c in subjects.items() if c == cls}
    shares = [len(md.drawn[c]) / counts[c] for c in CLASSES]
    assert shares == sorted(shares) and len(set(shares)) == 4


def test_yearly_caps_leave_out_subjects_already_inspected_often_enough():
    subjects = population(3_000)
    # Every subject inspected once this year already: A and B (cap 1) are out, C (cap 2) and D (4) are not.
    once = dict.fromkeys(subjects, 1)
    md = I.draw_matter("R2-dept-M", "v", subjects, POLICY, inspected_this_year=once)
    assert md.drawn["A"] == md.drawn["B"] == [] and md.eligible["A"] == md.eligible["B"] == []
    assert md.capped["A"] == len(md.population["A"]) and md.capped["C"] == 0
    assert len(md.drawn["C"]) == md.sizes["C"] > 0
    # Twice: C is out as well; four times: D too.
    assert I.draw_matter("R2-dept-M", "v", subjects, POLICY, inspected_this_year=dict.fromkeys(subjects, 2)
                         ).drawn["C"] == []  # fmt: skip
    assert I.draw_matter("R2-dept-M", "v", subjects, POLICY, inspected_this_year=dict.fromkeys(subjects, 4)
                         ).drawn["D"] == []  # fmt: skip
    # A cap leaves fewer eligible than the size asks: everyone eligible is taken, nobody capped.
    some = {u: 1 for u, c in list(subjects.items()) if c == "B"}
    keep = sorted(u for u, c in subjects.items() if c == "B")[:5]
    for u in keep:
        some.pop(u)
    md = I.draw_matter("R3-dept-M", "v", subjects, POLICY, inspected_this_year=some)
    assert md.drawn["B"] == keep


def test_overrides_are_always_drawn_and_count_towards_the_size():
    subjects = population(1_000)
    a_subjects = sorted(u for u, c in subjects.items() if c == "A")
    listed = {a_subjects[0]: "serious_dishonesty", a_subjects[1]: "open_complaint"}
    capped = {a_subjects[0]: 5, a_subjects[1]: 5}  # overrides ignore the cap
    md = I.draw_matter("R-dept-M", "v", subjects, POLICY, overrides=listed, inspected_this_year=capped)
    assert set(listed) <= set(md.drawn["A"])
    assert len(md.drawn["A"]) == max(md.sizes["A"], 2)
    assert md.forced["A"] == listed


def test_deregistered_subjects_never_reach_the_draw(tmp_path):
    # The warehouse query leaves them out; the pure draw takes only what it is given.
    subjects = population(500)
    gone = set(list(subjects)[:100])
    md = I.draw_matter("R-dept-M", "v", {u: c for u, c in subjects.items() if u not in gone}, POLICY)
    assert not gone & set(md.subjects())


def test_no_inspector_with_a_conflict_and_two_each_with_an_even_load():
    subjects = sorted(population(600))
    rng = random.Random(3)
    roster = {f"E{i:03d}": set(rng.sample(subjects, 60)) for i in range(9)}
    roster["E900"] = set(subjects)  # in conflict with everyone: never assigned
    load: dict[str, int] = {}
    out = I.assign_inspectors("ab" * 32, subjects, roster, load)
    for uscc, inspectors in out.items():
        assert len(set(inspectors)) == 2
        assert not any(uscc in roster[i] for i in inspectors)
    assert load["E900"] == 0
    busy = [n for i, n in load.items() if i != "E900"]
    assert max(busy) - min(busy) <= 2, load
    # Random, not a fixed rotation: another seed pairs them differently.
    assert I.assign_inspectors("cd" * 32, subjects, roster) != out
    with pytest.raises(I.DrawError, match="at least 2"):
        I.assign_inspectors("ab" * 32, subjects[:1], {"E1": set(), "E2": {subjects[0]}})


def test_each_subject_of_a_class_is_equally_likely_to_be_drawn():
    """Chi-square over 2,000 draws with fixed announced values: counts per subject are uniform."""
    members = {f"91140681MA{i:07d}X": "C" for i in range(40)}
    policy = {**POLICY, "C": ClassPolicy(0.25, 1, 2)}
    hits: Counter[str] = Counter()
    draws = 2_000
    for k in range(draws):
        hits.update(I.draw_matter("2026-H2-scjgj-M1", f"announced-{k}", members, policy).drawn["C"])
    observed = [hits[u] for u in sorted(members)]
    assert sum(observed) == draws * 10
    p = chisquare(observed).pvalue
    assert p > 0.001, (p, observed)


def test_the_reference_script_recomputes_a_draw_and_refuses_a_changed_one(tmp_path):
    subjects = population(800)
    listed = {sorted(subjects)[7]: "serious_dishonesty"}
    md = I.draw_matter("2026-H2-scjgj-M1", "v1", subjects, POLICY, overrides=listed)
    record = {"plan_id": "2026-H2-scjgj-M1", "announced_value": "v1", "algorithm_version": I.ALGORITHM_VERSION,
              "seed_sha256": I.seed_of("2026-H2-scjgj-M1", "v1"), "sample_sizes": md.sizes,
              "population_sha256": {c: I.population_hash(md.eligible[c]) for c in CLASSES},
              "population": md.eligible, "overrides": {c: sorted(f) for c, f in md.forced.items()},
              "drawn": md.drawn}  # fmt: skip
    assert I.verify_record(record) == []
    script = Path(I.__file__).with_name("reference") / "verify_draw.py"

    def run(rec: dict) -> subprocess.CompletedProcess:
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(rec), encoding="utf-8")
        return subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True, text=True)

    assert run(record).returncode == 0
    swapped = {**record, "drawn": {**record["drawn"], "C": record["drawn"]["C"][1:] + [md.population["A"][0]]}}
    fewer = {**record, "population": {**record["population"], "B": record["population"]["B"][1:]}}
    for changed in (swapped, {**record, "announced_value": "v2"}, fewer):
        assert I.verify_record(changed)
        assert run(changed).returncode == 1


def test_the_draw_benchmark_draws_with_the_seeds_defaults():
    from credit_platform.bench import loader as bench
    out = bench.draw(subjects=5_000, inspectors=6)
    assert out.startswith("Drawing one plan from 5,000 graded subjects") and "recomputing the draw" in out


# --- credit-draw-3: ranked by SHA-256, reproducible anywhere ----------------------------------

def test_the_draw_takes_the_lowest_sha256_of_seed_and_code_by_hand():
    """Three subjects, one drawn: the one whose SHA-256 hex of ``<seed>|<uscc>`` is lowest."""
    import hashlib

    seed = hashlib.sha256(b"2026-R1-scjgj-M1|3 7 1").hexdigest()
    assert I.seed_of("2026-R1-scjgj-M1", "3 7 1") == seed
    codes = ["91140681MA0K12348C", "91140681MA0K12349A", "91140681MA0K1234AB"]
    keys = {u: hashlib.sha256(f"{seed}|{u}".encode()).hexdigest() for u in codes}
    assert [I.rank_key(seed, u) for u in codes] == [keys[u] for u in codes]
    by_hand = sorted(codes, key=keys.get)
    assert I.lowest_ranked(seed, codes, 1) == by_hand[:1]
    assert I.lowest_ranked(seed, list(reversed(codes)), 2) == by_hand[:2]  # the input's order does not matter
    drawn = I.draw_sizes("2026-R1-scjgj-M1", "3 7 1", {"C": codes}, {"C": 1})
    assert drawn == {"A": [], "B": [], "C": by_hand[:1], "D": []}
    # An override counts towards the size: with it, one more of the others is taken only if the size allows.
    assert I.draw_sizes("2026-R1-scjgj-M1", "3 7 1", {"C": codes}, {"C": 2}, {"C": [by_hand[2]]}) == {
        "A": [], "B": [], "C": sorted([by_hand[0], by_hand[2]]), "D": []}


def test_the_new_version_is_the_default_and_differs_from_the_old_one():
    subjects = population(2_000)
    assert I.ALGORITHM_VERSION == "credit-draw-3"
    new = I.draw_matter("2026-H2-scjgj-M1", "v1", subjects, POLICY)
    old = I.draw_matter("2026-H2-scjgj-M1", "v1", subjects, POLICY, version="credit-draw-2")
    assert new.sizes == old.sizes and new.drawn != old.drawn
    seed = I.seed_of("2026-H2-scjgj-M1", "v1")
    for cls in CLASSES:  # every drawn subject ranks below every eligible subject left out
        left = set(new.eligible[cls]) - set(new.drawn[cls])
        if new.drawn[cls] and left:
            assert max(I.rank_key(seed, u) for u in new.drawn[cls]) < min(I.rank_key(seed, u) for u in left)


def test_inspectors_are_picked_by_sha256_in_version_3():
    import hashlib

    roster = {"E1": set(), "E2": set(), "E3": set()}
    seed = "ab" * 32
    out = I.assign_inspectors(seed, ["91140681MA0K12348C"], roster)
    first = min(roster, key=lambda i: hashlib.sha256(f"{seed}|91140681MA0K12348C|{i}".encode()).hexdigest())
    assert first in out["91140681MA0K12348C"] and len(out["91140681MA0K12348C"]) == 2
    # the version 2 plans keep their random.Random picks
    assert I.assign_inspectors(seed, ["91140681MA0K12348C"], roster, version="credit-draw-2") == I.assign_inspectors(
        seed, ["91140681MA0K12348C"], roster, version="credit-draw-2")


def _record(version: str, subjects: dict[str, str], listed: dict[str, str] | None = None) -> dict:
    md = I.draw_matter("2026-H2-scjgj-M1", "v1", subjects, POLICY, overrides=listed, version=version)
    return {"plan_id": "2026-H2-scjgj-M1", "announced_value": "v1", "algorithm_version": version,
            "seed_sha256": I.seed_of("2026-H2-scjgj-M1", "v1"), "sample_sizes": md.sizes,
            "population_sha256": {c: I.population_hash(md.eligible[c]) for c in CLASSES},
            "population": md.eligible, "overrides": {c: sorted(f) for c, f in md.forced.items()},
            "drawn": md.drawn}  # fmt: skip


def _reference(tmp_path: Path, rec: dict) -> subprocess.CompletedProcess:
    script = Path(I.__file__).with_name("reference") / "verify_draw.py"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    return subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("version", ["credit-draw-2", "credit-draw-3"])
def test_plans_of_each_version_verify_with_their_own_algorithm(version, tmp_path):
    subjects = population(800)
    record = _record(version, subjects, {sorted(subjects)[7]: "serious_dishonesty"})
    assert I.verify_record(record) == []
    assert _reference(tmp_path, record).returncode == 0
    other = "credit-draw-3" if version == "credit-draw-2" else "credit-draw-2"
    assert I.verify_record({**record, "algorithm_version": other})  # the other algorithm draws others
    assert _reference(tmp_path, {**record, "algorithm_version": other}).returncode == 1


def test_the_reference_script_checks_a_kit_with_masked_subjects_and_its_announcement(tmp_path):
    subjects = population(600)
    individual = {f"92140681MA{i:07d}X": "B" for i in range(40)}  # 个体工商户: masked in a kit
    record = _record("credit-draw-3", {**subjects, **individual})
    seed = record["seed_sha256"]

    def shown(us: list[str]) -> list[str]:
        return sorted(u if u.startswith("91") else "masked:" + I.rank_key(seed, u) for u in us)

    kit = {**record, "kit_format": "credit-draw-kit-1", "drawn_at": "2026-12-02T10:00:05+08:00",
           "announcement": {"draw_round": "2026-H2", "value_source": "福彩3D 第2026320期开奖号码, 2026-12-01",
                            "draw_at": "2026-12-02T10:00:00+08:00", "announced_at": "2026-11-28T09:00:00+08:00",
                            "announced_value": "v1", "value_recorded_at": "2026-12-02T08:00:00+08:00"},
           "policy": {c: vars(POLICY[c]) for c in CLASSES},
           "population_counts": {c: len(record["population"][c]) for c in CLASSES},
           "population": {c: shown(v) for c, v in record["population"].items()},
           "overrides": {c: shown(v) for c, v in record["overrides"].items()},
           "drawn": {c: shown(v) for c, v in record["drawn"].items()}}  # fmt: skip
    assert any(u.startswith("masked:") for u in kit["drawn"]["B"]), "a masked subject among the drawn"
    res = _reference(tmp_path, kit)
    assert (res.returncode, res.stdout) == (0, "2026-H2-scjgj-M1: MATCH\n"), res.stdout
    late = {**kit, "announcement": {**kit["announcement"], "announced_at": "2026-12-02T10:00:01+08:00"}}
    res = _reference(tmp_path, late)
    assert res.returncode == 1 and "not before the draw time" in res.stdout
    early = {**kit, "drawn_at": "2026-12-02T09:59:00+08:00"}
    assert "before the announced draw time" in _reference(tmp_path, early).stdout
    other_value = {**kit, "announcement": {**kit["announcement"], "announced_value": "v2"}}
    assert "differs from the announced value" in _reference(tmp_path, other_value).stdout
    swapped = {**kit, "drawn": {**kit["drawn"], "B": kit["drawn"]["B"][1:] + [kit["population"]["A"][0]]}}
    res = _reference(tmp_path, swapped)
    assert res.returncode == 1 and "class B: the drawn subjects differ" in res.stdout
    bigger = {**kit, "sample_sizes": {**kit["sample_sizes"], "D": kit["sample_sizes"]["D"] + 1}}
    assert "class D: sample size" in _reference(tmp_path, bigger).stdout


def test_kits_show_only_organisations_credit_codes():
    from credit_platform.inspection import kits
    from credit_platform.uscc import make

    organisation, individual = make("91", "140681", "MA0K1234"), make("92", "140681", "MA0K1234")
    assert kits.is_public_code(organisation) and not kits.is_public_code(individual)
    resident_id = "11010519491231002X"  # the GB 11643 example
    assert kits.is_resident_id(resident_id) and not kits.is_public_code(resident_id)
    assert not kits.is_public_code("110105491231002")  # 15 digits
    assert not kits.is_public_code(organisation[:-1] + ("0" if organisation[-1] != "0" else "1"))  # bad check
    seed = "ab" * 32
    assert kits.public_form(seed, organisation) == organisation
    assert kits.public_form(seed, individual) == "masked:" + I.rank_key(seed, individual)


def _announcement(**changes) -> I.Announcement:
    import datetime as dt

    tz = dt.timezone(dt.timedelta(hours=8))
    base = {"draw_round": "2026-R1", "value_source": "福彩3D 第2026320期开奖号码, 2026-12-01",
            "draw_at": dt.datetime(2026, 12, 2, 10, tzinfo=tz), "announced_at": dt.datetime(2026, 11, 28, 9, tzinfo=tz),
            "announced_value": "3 7 1", "value_recorded_at": dt.datetime(2026, 12, 2, 8, tzinfo=tz)}  # fmt: skip
    return I.Announcement(**{**base, **changes})


def test_the_draw_refuses_without_an_announcement_made_before_it():
    import datetime as dt

    a = _announcement()
    later = a.draw_at + dt.timedelta(minutes=5)
    assert I.check_announcement(a, "2026-R1", later) == "3 7 1"
    assert I.check_announcement(a, "2026-R1", later, "3 7 1") == "3 7 1"
    cases = [
        (None, later, None, "没有抽查公告.*was not announced.*announce-draw 2026-R1"),
        (_announcement(announced_at=a.draw_at + dt.timedelta(seconds=1)), later, None,
         "不早于抽取时间.*not before its draw time"),
        (_announcement(announced_at=a.draw_at), later, None, "not before its draw time"),
        (a, a.draw_at - dt.timedelta(seconds=1), None, "未到时间.*announced to be drawn at"),
        (_announcement(announced_value=None, value_recorded_at=None), later, None,
         "公布值尚未录入.*record-draw-value 2026-R1"),
        (a, later, "3 7 2", "与抽查批次 2026-R1 录入的公布值不同.*not the value recorded"),
    ]  # fmt: skip
    for announced, now, value, message in cases:
        with pytest.raises(I.DrawError, match=message):
            I.check_announcement(announced, "2026-R1", now, value)

"""The double-random draw (双随机、一公开): which subjects each department inspects, and who goes.

A draw is one *round* (抽查批次, by default the graded period) of every department's inspection
matters (抽查事项清单). Per department and matter, one plan ``<round>-<department>-<matter>``:

0. **Announcement (抽查公告).** Before the round is drawn, its plan is announced in
   ``ops.draw_announcements`` (``credit-platform announce-draw``): the round, the draw time and
   the public source of the value (a named lottery draw on a named date), with the time the
   warehouse received it; the value is recorded once the source has published it
   (``credit-platform record-draw-value``). The draw refuses a round without an announcement made
   before its draw time, before that time, without the value, or with another value
   (``check_announcement``, ``DrawError`` in Chinese and English).
1. **Population.** Every subject the department supervises in the matter's industry that has a
   grade in the period, in the grade class of that industry. Deregistered subjects are left out.
2. **Sample size per class** (``sample_size``): ``ceil(ratio x n)`` where n is the class's
   population (rounded *up*: 5% of 30 subjects is 2), at least the class's minimum count and never
   more than there are. Ratio, minimum and yearly cap come from ``marts.dim_inspection_ratios``
   (the department's own rows of seed ``inspection_ratios``, else the defaults).
3. **Yearly frequency cap.** A subject the department already inspected in as many other rounds
   of the calendar year (of the day of the draw) as its class's ``max_per_year`` is not eligible.
4. **Overrides (必检).** Subjects listed as seriously dishonest, or with an open complaint to the
   department, are always inspected (``marts.fct_inspection_overrides``, as the department's
   settings allow), cap or not; they count towards the class's sample size.
5. **The draw** (algorithm ``credit-draw-3``). seed = SHA-256 hex of ``<plan_id>|<announced
   value>`` (UTF-8). In each class, every eligible subject that is not an override gets the rank
   key SHA-256 hex of ``<seed>|<uscc>``; the k subjects with the lowest keys (compared as text,
   which for lower-case hex is numeric order) are drawn, k = the sample size minus the overrides of
   the class (never more than are eligible). No random-number generator is involved: the draw can
   be redone in any language, or in a spreadsheet with a SHA-256 function.
6. **Inspectors.** Per department and round, each drawn subject gets two inspectors from the
   department's roster, never one with a declared conflict with the subject (回避), the subjects
   taken in USCC order. Each pick is among the eligible inspectors with the fewest tasks so far (so
   the load stays even), and of those the one with the lowest SHA-256 hex of ``<seed>|<uscc>|<inspector
   id>``, where the seed is that of ``<round>-<department>`` and the value. A subject drawn for
   several matters of a department gets the same inspectors (one visit).
7. **Joint inspection.** A subject drawn by several departments in one round has one task id
   (跨部门联合抽查): SHA-256 of ``<round>|<uscc>``.

The plan records the seed, the algorithm version, the policy applied, the exclusions and SHA-256
of each class's eligible population (``population_hash``); the population itself is kept in
``ops.inspection_population``. Only the standard library draws; the database only stores the
result. ``verify`` recomputes a past draw from what was recorded and names every difference;
``audit_record`` exports what ``reference/verify_draw.py`` needs to do the same outside the
platform, and ``kits.py`` writes each public plan's verification kit (announcement, value,
population, sizes, overrides, result) into the outbox for anyone to check with that script.

Older plans verify with their own algorithm: ``credit-draw-2`` (as above, but Python's
``random.Random`` seeded with the seed read as an integer draws ``sample(eligible subjects sorted
by USCC, not overrides, k)`` for the classes A, B, C, D in that order, and picks inspectors with
``random.Random(seed ^ 0x5EED).choice``; no announcement was recorded), and ``credit-draw-1`` (one
plan per department and period, each subject in its worst class, no caps or overrides).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg

from credit_platform.grade_levels import CLASSES  # A, B, C, D: seed grade_levels
from credit_platform.warehouse.urls import libpq_url

ALGORITHM_VERSION = "credit-draw-3"
ALGORITHMS = ("credit-draw-1", "credit-draw-2", "credit-draw-3")
RANDOM_GENERATOR_VERSIONS = ("credit-draw-1", "credit-draw-2")  # drawn with random.Random
INSPECTORS_PER_TASK = 2


class DrawError(RuntimeError):
    """A draw that cannot be made as configured (no announcement, too few inspectors); nothing is recorded."""


@dataclass(frozen=True)
class ClassPolicy:
    ratio: float
    min_count: int
    max_per_year: int


@dataclass
class MatterDraw:
    """One plan's draw, before it is stored."""

    population: dict[str, list[str]]  # class -> subjects (not deregistered), sorted
    eligible: dict[str, list[str]]  # class -> what the draw took from (capped ones out), sorted
    forced: dict[str, dict[str, str]]  # class -> {uscc: override reason}
    capped: dict[str, int]
    sizes: dict[str, int]
    drawn: dict[str, list[str]]  # class -> drawn subjects (overrides included), sorted

    def subjects(self) -> list[str]:
        return sorted(u for c in CLASSES for u in self.drawn[c])


@dataclass
class PlanResult:
    plan_id: str
    department_code: str
    matter_code: str
    population: dict[str, int]
    sample_sizes: dict[str, int]
    drawn: dict[str, int]
    overrides: int
    capped: int
    tasks: int
    status: str  # drawn, exists
    excluded_deregistered: int = 0
    inspectors: dict[str, int] = field(default_factory=dict)


def seed_of(plan_id: str, announced_value: str) -> str:
    return hashlib.sha256(f"{plan_id}|{announced_value}".encode()).hexdigest()


def population_hash(usccs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(usccs)).encode()).hexdigest()


def task_id_for(draw_round: str, uscc: str) -> str:
    return "T" + hashlib.sha256(f"{draw_round}|{uscc}".encode()).hexdigest()[:15]


def sample_size(n: int, ratio: float, minimum: int) -> int:
    """ceil(ratio x n), at least ``minimum``, at most n (a product within 1e-9 above a whole
    number counts as that number, so a decimal ratio's binary rounding never adds a subject)."""
    if n == 0:
        return 0
    return min(n, max(minimum, math.ceil(ratio * n - 1e-9)))


def rank_key(seed: str, uscc: str) -> str:
    """A subject's place in the draw (credit-draw-3): SHA-256 hex of ``<seed>|<uscc>``; lowest first."""
    return hashlib.sha256(f"{seed}|{uscc}".encode()).hexdigest()


def lowest_ranked(seed: str, candidates: list[str], k: int) -> list[str]:
    """The ``k`` candidates with the lowest rank keys (ties, which SHA-256 makes unheard of, by USCC)."""
    return sorted(candidates, key=lambda u: (rank_key(seed, u), u))[:k]


def draw_sizes(plan_id: str, announced_value: str, population: dict[str, list[str]], sizes: dict[str, int],
               forced: dict[str, list[str]] | None = None,
               version: str = ALGORITHM_VERSION) -> dict[str, list[str]]:  # fmt: skip
    """The draw itself, for each class: as many subjects as the class's size less its overrides,
    from its population without the overrides. ``credit-draw-3``: the lowest rank keys (SHA-256 of
    ``<seed>|<uscc>``); ``credit-draw-1`` and ``-2``: ``random.Random`` seeded with the seed (as an
    integer) samples the population sorted by USCC, in the order A, B, C, D. Returns the drawn
    subjects per class, overrides included, sorted. ``reference/verify_draw.py`` is the same."""
    seed = seed_of(plan_id, announced_value)
    rng = random.Random(int(seed, 16)) if version in RANDOM_GENERATOR_VERSIONS else None
    out = {}
    for cls in CLASSES:
        must = set((forced or {}).get(cls, []))
        rest = sorted(u for u in population.get(cls, []) if u not in must)
        k = min(len(rest), max(0, sizes.get(cls, 0) - len(must)))
        chosen = rng.sample(rest, k) if rng is not None else lowest_ranked(seed, rest, k)
        out[cls] = sorted(must | set(chosen))
    return out


def draw_matter(plan_id: str, announced_value: str, subjects: dict[str, str], policy: dict[str, ClassPolicy], *,
                inspected_this_year: dict[str, int] | None = None,
                overrides: dict[str, str] | None = None, version: str = ALGORITHM_VERSION) -> MatterDraw:  # fmt: skip
    """One plan's draw from ``subjects`` (uscc -> grade class, deregistered already left out):
    sizes from the policy, yearly caps, overrides, then ``draw_sizes``. Pure and repeatable."""
    inspected_this_year = inspected_this_year or {}
    overrides = overrides or {}
    population: dict[str, list[str]] = {c: [] for c in CLASSES}
    for uscc, cls in subjects.items():
        population[cls].append(uscc)
    eligible, forced, capped, sizes = {}, {}, {}, {}
    for cls in CLASSES:
        members = sorted(population[cls])
        population[cls] = members
        rule = policy[cls]
        forced[cls] = {u: overrides[u] for u in members if u in overrides}
        eligible[cls] = [u for u in members if u in forced[cls] or inspected_this_year.get(u, 0) < rule.max_per_year]
        capped[cls] = len(members) - len(eligible[cls])
        sizes[cls] = sample_size(len(members), rule.ratio, rule.min_count)
    drawn = draw_sizes(plan_id, announced_value, eligible, sizes, {c: list(f) for c, f in forced.items()}, version)
    return MatterDraw(population, eligible, forced, capped, sizes, drawn)


def assign_inspectors(seed: str, subjects: list[str], roster: dict[str, set[str]], load: dict[str, int] | None = None,
                      version: str = ALGORITHM_VERSION) -> dict[str, list[str]]:  # fmt: skip
    """``INSPECTORS_PER_TASK`` inspectors per subject (in USCC order), none with a declared conflict
    with it; each pick among the eligible inspectors with the fewest tasks so far (``load``,
    updated): ``credit-draw-3`` the one with the lowest SHA-256 hex of ``<seed>|<uscc>|<inspector>``,
    ``credit-draw-2`` one chosen by ``random.Random(seed ^ 0x5EED)``."""
    rng = random.Random(int(seed, 16) ^ 0x5EED) if version in RANDOM_GENERATOR_VERSIONS else None
    load = load if load is not None else {}
    for inspector in roster:
        load.setdefault(inspector, 0)
    out = {}
    for uscc in sorted(subjects):
        eligible = sorted(i for i in roster if uscc not in roster[i])
        if len(eligible) < INSPECTORS_PER_TASK:
            raise DrawError(f"{uscc}: {len(eligible)} inspector(s) on the roster without a declared conflict;"
                            f" at least {INSPECTORS_PER_TASK} are needed")  # fmt: skip
        chosen: list[str] = []
        for _ in range(INSPECTORS_PER_TASK):
            free = [i for i in eligible if i not in chosen]
            least = min(load[i] for i in free)
            fewest = [i for i in free if load[i] == least]
            pick = (rng.choice(fewest) if rng is not None
                    else min(fewest, key=lambda i: (rank_key(seed, f"{uscc}|{i}"), i)))  # fmt: skip
            chosen.append(pick)
            load[pick] += 1
        out[uscc] = sorted(chosen)
    return out


@dataclass(frozen=True)
class Announcement:
    """A round's announcement (ops.draw_announcements): made before the draw, its value entered later."""

    draw_round: str
    value_source: str
    draw_at: dt.datetime
    announced_at: dt.datetime
    announced_value: str | None
    value_recorded_at: dt.datetime | None

    def as_record(self) -> dict:
        recorded = self.value_recorded_at.isoformat() if self.value_recorded_at else None
        return {"draw_round": self.draw_round, "value_source": self.value_source,
                "draw_at": self.draw_at.isoformat(), "announced_at": self.announced_at.isoformat(),
                "announced_value": self.announced_value, "value_recorded_at": recorded}  # fmt: skip


def announcement(conn: psycopg.Connection, draw_round: str) -> Announcement | None:
    row = conn.execute("SELECT draw_round, value_source, draw_at, announced_at, announced_value, value_recorded_at"
                       " FROM ops.draw_announcements WHERE draw_round = %s", (draw_round,)).fetchone()  # fmt: skip
    return Announcement(*row) if row else None


def announce_hint(draw_round: str) -> str:
    return (f"credit-platform announce-draw {draw_round} --source \"<公开随机值来源 / public source of the value,"
            f" e.g. 福彩3D 第2026320期开奖号码, 2026-12-01>\" --draw-at <抽取时间 / draw time>")


def check_announcement(a: Announcement | None, draw_round: str, now: dt.datetime,
                       value: str | None = None) -> str:  # fmt: skip
    """The value to draw round ``draw_round`` with at ``now``, or ``DrawError`` saying what to do:
    the round announced before its draw time, that time reached, the value recorded (and, when
    ``value`` is given, the same)."""
    r = draw_round
    if a is None:
        raise DrawError(f"抽查批次 {r} 没有抽查公告，未抽取：请先在抽取前公告（{announce_hint(r)}），开奖后录入公布值"
                        f"（credit-platform record-draw-value {r} <公布值>）/ round {r} was not announced: nothing"
                        f" drawn. Announce it before its draw time ({announce_hint(r)}), then record the value"
                        f" once the source has published it (credit-platform record-draw-value {r} VALUE)")  # fmt: skip
    if a.announced_at >= a.draw_at:
        raise DrawError(f"抽查批次 {r} 的公告时间 {a.announced_at:%Y-%m-%d %H:%M:%S%z} 不早于抽取时间"
                        f" {a.draw_at:%Y-%m-%d %H:%M:%S%z}，未抽取：请以新的批次名在抽取时间之前重新公告 / round {r}"
                        f" was announced at {a.announced_at.isoformat()}, not before its draw time"
                        f" {a.draw_at.isoformat()}: nothing drawn. Announce the draw again under a new round name,"
                        " before its draw time")  # fmt: skip
    if now < a.draw_at:
        raise DrawError(f"抽查批次 {r} 公告的抽取时间是 {a.draw_at:%Y-%m-%d %H:%M:%S%z}，未到时间，未抽取：请届时再抽取"
                        f" / round {r} is announced to be drawn at {a.draw_at.isoformat()}, it is now"
                        f" {now.isoformat()}: nothing drawn. Draw it then")  # fmt: skip
    if a.announced_value is None:
        raise DrawError(f"抽查批次 {r} 的公布值尚未录入（来源：{a.value_source}），未抽取：开奖后请录入"
                        f"（credit-platform record-draw-value {r} <公布值>）/ the value of round {r} is not recorded"
                        f" yet (source: {a.value_source}): nothing drawn. Once the source has published it, record"
                        f" it with credit-platform record-draw-value {r} VALUE, then draw")  # fmt: skip
    if value is not None and value != a.announced_value:
        raise DrawError(f"给定的值与抽查批次 {r} 录入的公布值不同，未抽取：请用公告的值抽取 / the value given is not"
                        f" the value recorded for round {r} ({a.announced_value!r}): nothing drawn. Draw with the"
                        " announced value (or none: the recorded one is taken)")  # fmt: skip
    return a.announced_value


@dataclass
class Verification:
    plan_id: str
    problems: list[str]

    @property
    def matches(self) -> bool:
        return not self.problems


# --- the first algorithm's populations (credit-draw-1), for verifying its plans ---------------

def _graded(conn, period: str) -> list[tuple]:
    return conn.execute(
        """
        SELECT sc.department_code, g.uscc, g.industry_code, g.grade_class
          FROM marts.fct_industry_credit_grades g
          JOIN marts.fct_supervision_scopes sc
            ON sc.uscc = g.uscc AND sc.industry_code = g.industry_code AND sc.department_code = g.department_code
         WHERE g.evaluation_period = %s AND NOT sc.is_deregistered
        """,
        (period,),
    ).fetchall()


def _populations(graded) -> dict[str, dict[str, list[str]]]:
    """department -> class -> subjects, each subject in its worst class across the department's industries."""
    worst: dict[str, dict[str, str]] = defaultdict(dict)
    for dept, uscc, _industry, cls in graded:
        prev = worst[dept].get(uscc)
        worst[dept][uscc] = cls if prev is None else max(prev, cls)
    out: dict[str, dict[str, list[str]]] = {}
    for dept, subjects in worst.items():
        pop: dict[str, list[str]] = defaultdict(list)
        for uscc, cls in subjects.items():
            pop[cls].append(uscc)
        out[dept] = {c: sorted(pop.get(c, [])) for c in CLASSES}
    return out


def audit_record(url: str, plan_id: str) -> dict:
    """What an auditor needs to recompute a plan's draw: the plan as recorded, the population of
    each class it drew from, the overrides and the subjects drawn per class (stored tasks), and
    from ``credit-draw-3`` the round's announcement and the time of the draw."""
    with psycopg.connect(libpq_url(url)) as conn:
        return plan_record(conn, plan_id)


def plan_record(conn: psycopg.Connection, plan_id: str) -> dict:
    """``audit_record`` on an open connection (``kits.py`` builds the public kit from it)."""
    plan = conn.execute(
        "SELECT department_code, evaluation_period, announced_value, seed_sha256, algorithm_version,"
        " population_sha256, sample_sizes, draw_round, created_at FROM ops.inspection_plans WHERE plan_id = %s",
        (plan_id,)).fetchone()  # fmt: skip
    if plan is None:
        raise LookupError(f"no inspection plan {plan_id!r} in ops.inspection_plans")
    dept, period, announced, seed, version, hashes, sizes, draw_round, drawn_at = plan
    if version == "credit-draw-1":  # the population as the warehouse gives it now
        population = _populations(_graded(conn, period)).get(dept, {c: [] for c in CLASSES})
    else:
        population = {c: [] for c in CLASSES}
        for cls, uscc in conn.execute("SELECT grade_class, uscc FROM ops.inspection_population"
                                      " WHERE plan_id = %s ORDER BY uscc", (plan_id,)):  # fmt: skip
            population[cls].append(uscc)
    drawn: dict[str, set[str]] = {c: set() for c in CLASSES}
    forced: dict[str, set[str]] = {c: set() for c in CLASSES}
    for uscc, cls, selection in conn.execute(
            "SELECT uscc, grade_class, selection FROM ops.inspection_tasks WHERE plan_id = %s", (plan_id,)):
        drawn[cls].add(uscc)
        if selection == "override":
            forced[cls].add(uscc)
    record = {"plan_id": plan_id, "announced_value": announced, "algorithm_version": version, "seed_sha256": seed,
              "population_sha256": hashes, "sample_sizes": sizes, "population": population,
              "drawn": {c: sorted(v) for c, v in drawn.items()}}  # fmt: skip
    if version != "credit-draw-1":
        record["overrides"] = {c: sorted(v) for c, v in forced.items()}
    if version not in RANDOM_GENERATOR_VERSIONS:  # announced before the draw (ops.draw_announcements)
        a = announcement(conn, draw_round)
        record["draw_round"] = draw_round
        record["drawn_at"] = drawn_at.isoformat()
        record["announcement"] = a.as_record() if a else None
    return record


def announcement_problems(record: dict) -> list[str]:
    """Every way a record's announcement does not hold (``credit-draw-3`` on): made before the draw
    time, the value recorded after it was announced and before the draw, the plan's value the
    announced one, the plan drawn at or after the draw time."""
    a = record.get("announcement")
    if not a:
        return [f"no announcement of round {record.get('draw_round')!r} (ops.draw_announcements)"]
    problems = []
    when = {k: dt.datetime.fromisoformat(a[k]) if a.get(k) else None
            for k in ("announced_at", "draw_at", "value_recorded_at")}  # fmt: skip
    drawn_at = dt.datetime.fromisoformat(record["drawn_at"])
    if when["announced_at"] >= when["draw_at"]:
        problems.append(f"the announcement ({a['announced_at']}) was not made before the draw time ({a['draw_at']})")
    if drawn_at < when["draw_at"]:
        problems.append(f"the plan was drawn ({record['drawn_at']}) before the announced draw time ({a['draw_at']})")
    if a.get("announced_value") != record["announced_value"]:
        problems.append("the plan's value is not the value recorded for the announcement")
    if when["value_recorded_at"] is None or not when["announced_at"] <= when["value_recorded_at"] <= drawn_at:
        problems.append("the value was not recorded between the announcement and the draw")
    return problems


def verify_record(record: dict) -> list[str]:
    """Every way the record's draw does not hold; empty when it does."""
    problems = []
    plan_id, announced, version = record["plan_id"], record["announced_value"], record["algorithm_version"]
    if version not in ALGORITHMS:
        return [f"algorithm {version!r} is not one of {', '.join(ALGORITHMS)}: not recomputed here"]
    if "announcement" in record:
        problems += announcement_problems(record)
    if seed_of(plan_id, announced) != record["seed_sha256"]:
        problems.append("the seed is not SHA-256 of the plan id and the announced value")
    forced = record.get("overrides") or {}
    for cls in CLASSES:
        if population_hash(record["population"].get(cls, [])) != record["population_sha256"].get(cls):
            problems.append(f"the population of class {cls} is not the one drawn from (its SHA-256 differs)")
        outside = sorted(set(forced.get(cls, [])) - set(record["population"].get(cls, [])))
        if outside:
            problems.append(f"class {cls}: overrides not in the population drawn from: {outside[:5]}")
    again = draw_sizes(plan_id, announced, record["population"], record["sample_sizes"], forced, version)
    for cls in CLASSES:
        stored, recomputed = set(record["drawn"].get(cls, [])), set(again[cls])
        if stored != recomputed:
            extra, missing = sorted(stored - recomputed), sorted(recomputed - stored)
            problems.append(f"class {cls}: stored tasks differ from the recomputed draw"
                            f" (not drawn but stored: {extra[:5]}; drawn but not stored: {missing[:5]})")  # fmt: skip
    return problems


def verify(url: str, plan_id: str) -> Verification:
    """Recompute a past draw from what was recorded and compare it with the stored tasks."""
    return Verification(plan_id, verify_record(audit_record(url, plan_id)))


# --- drawing from the warehouse ---------------------------------------------------------------

def _inputs(conn, period: str) -> dict:
    """Everything a round's draw reads from the marts, in one place."""
    graded: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (dept, industry) -> uscc -> class
    deregistered: dict[tuple[str, str], int] = defaultdict(int)
    for dept, industry, uscc, cls, gone in conn.execute(
        """
        SELECT sc.department_code, g.industry_code, g.uscc, g.grade_class, sc.is_deregistered
          FROM marts.fct_industry_credit_grades g
          JOIN marts.fct_supervision_scopes sc
            ON sc.uscc = g.uscc AND sc.industry_code = g.industry_code AND sc.department_code = g.department_code
         WHERE g.evaluation_period = %s
        """,
        (period,),
    ):
        if gone:
            deregistered[(dept, industry)] += 1
        else:
            graded[(dept, industry)][uscc] = cls
    policy: dict[str, dict[str, ClassPolicy]] = defaultdict(dict)
    for dept, cls, ratio, minimum, cap in conn.execute(
            "SELECT department_code, grade_class, sampling_ratio, min_count, max_per_year"
            " FROM marts.dim_inspection_ratios"):  # fmt: skip
        policy[dept][cls] = ClassPolicy(float(ratio), int(minimum), int(cap))
    settings = {d: {"include_dishonest": a, "include_open_complaints": b, "plan_disclosure": c, "deadline": n}
                for d, a, b, c, n in conn.execute(
                    "SELECT department_code, include_dishonest, include_open_complaints, plan_disclosure,"
                    " results_deadline_workdays FROM marts.dim_inspection_settings")}  # fmt: skip
    overrides: dict[str, dict[str, str]] = defaultdict(dict)  # dept -> uscc -> reason (dishonesty first)
    for dept, uscc, reason in conn.execute(
            "SELECT department_code, uscc, reason FROM marts.fct_inspection_overrides"
            " ORDER BY department_code, uscc, reason DESC"):  # fmt: skip
        wanted = settings.get(dept, {}).get("include_dishonest" if reason == "serious_dishonesty"
                                            else "include_open_complaints")  # fmt: skip
        if wanted:
            overrides[dept].setdefault(uscc, reason)
    matters = [tuple(r) for r in conn.execute(
        "SELECT department_code, matter_code, industry_code FROM marts.dim_inspection_matters"
        " ORDER BY department_code, matter_code")]  # fmt: skip
    rosters: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for dept, inspector, conflicts in conn.execute(
            "SELECT department_code, inspector_id, conflict_usccs FROM marts.dim_inspectors"):
        rosters[dept][inspector] = set(conflicts or [])
    return {"graded": graded, "deregistered": deregistered, "policy": policy, "settings": settings,
            "overrides": overrides, "matters": matters, "rosters": rosters}  # fmt: skip


def _inspected_this_year(conn, dept: str, year: int, draw_round: str) -> dict[str, int]:
    """Per subject, the other rounds of ``year`` in which the department inspected it."""
    return dict(conn.execute(
        "SELECT t.uscc, count(DISTINCT coalesce(p.draw_round, p.evaluation_period))::int"
        "  FROM ops.inspection_tasks t JOIN ops.inspection_plans p USING (plan_id)"
        " WHERE t.department_code = %s AND coalesce(p.draw_round, p.evaluation_period) <> %s"
        "   AND extract(year FROM coalesce(p.drawn_on, p.created_at::date)) = %s GROUP BY t.uscc",
        (dept, draw_round, year)).fetchall())  # fmt: skip


def draw(url: str, period: str, announced_value: str | None = None, *, draw_round: str | None = None,
         drawn_on: dt.date | None = None) -> list[PlanResult]:  # fmt: skip
    """Draw every department's plans for the round (default: the period) from the grades of
    ``period``, as the publisher at ``url``, with the value announced for the round
    (``check_announcement``: refused, nothing drawn, without an announcement made before the draw
    time, before that time, or without the value; ``announced_value``, when given, must be that
    value); plans already drawn in the round are kept. Each department draws in a transaction of
    its own; one that cannot (too few inspectors without a conflict, no policy) is named in the
    ``DrawError`` raised after the others have drawn."""
    draw_round = draw_round or period
    drawn_on = drawn_on or dt.date.today()
    results = []
    with psycopg.connect(libpq_url(url)) as conn:
        (now,) = conn.execute("SELECT now()").fetchone()
        announced_value = check_announcement(announcement(conn, draw_round), draw_round, now, announced_value)
        conn.commit()
        inputs = _inputs(conn, period)
        by_department: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for dept, matter, industry in inputs["matters"]:
            by_department[dept].append((matter, industry))
        failures = []
        for dept in sorted(by_department):
            try:
                results += _draw_department(conn, inputs, dept, by_department[dept], period, draw_round, drawn_on,
                                            announced_value)  # fmt: skip
            except DrawError as exc:  # the other departments still draw
                failures.append(str(exc))
    if failures:
        drawn = sum(r.status == "drawn" for r in results)
        raise DrawError(f"{len(failures)} department(s) not drawn ({drawn} plan(s) of the others were): "
                        + "; ".join(failures))  # fmt: skip
    return results


def _draw_department(conn, inputs: dict, dept: str, matters: list[tuple[str, str]], period: str, draw_round: str,
                     drawn_on: dt.date, announced: str) -> list[PlanResult]:  # fmt: skip
    policy = inputs["policy"].get(dept)
    if policy is None or set(policy) != set(CLASSES):
        raise DrawError(f"{dept}: no sampling policy for every class in marts.dim_inspection_ratios")
    settings = inputs["settings"].get(dept, {})
    existing = {p for (p,) in conn.execute("SELECT plan_id FROM ops.inspection_plans WHERE draw_round = %s"
                                           " AND department_code = %s", (draw_round, dept))}  # fmt: skip
    seen_this_year = _inspected_this_year(conn, dept, drawn_on.year, draw_round)
    results, plans = [], []
    for matter, industry in matters:
        plan_id = f"{draw_round}-{dept}-{matter}"
        if plan_id in existing:
            n = conn.execute("SELECT count(*) FROM ops.inspection_tasks WHERE plan_id = %s", (plan_id,)).fetchone()[0]
            results.append(PlanResult(plan_id, dept, matter, {}, {}, {}, 0, 0, n, "exists"))
            continue
        subjects = inputs["graded"].get((dept, industry), {})
        overrides = inputs["overrides"].get(dept, {})
        md = draw_matter(plan_id, announced, subjects, policy, inspected_this_year=seen_this_year,
                         overrides={u: r for u, r in overrides.items() if u in subjects})  # fmt: skip
        plans.append((plan_id, matter, industry, md))
    # One visit per subject of the department in the round: the same two inspectors for all its matters.
    subjects = sorted({u for *_, md in plans for u in md.subjects()})
    load = dict(conn.execute(
        "SELECT i, count(*)::int FROM ops.inspection_tasks t JOIN ops.inspection_plans p USING (plan_id),"
        " unnest(t.inspector_ids) AS i WHERE p.draw_round = %s AND t.department_code = %s GROUP BY i",
        (draw_round, dept)).fetchall())  # fmt: skip
    try:
        inspectors = assign_inspectors(seed_of(f"{draw_round}-{dept}", announced), subjects,
                                       inputs["rosters"].get(dept, {}), load) if subjects else {}  # fmt: skip
    except DrawError as exc:
        raise DrawError(f"{dept} (roster: its inspectors* file): {exc}; nothing of round {draw_round} was drawn"
                        f" for {dept}") from exc  # fmt: skip
    with conn.transaction():
        for plan_id, matter, industry, md in plans:
            conn.execute(
                "INSERT INTO ops.inspection_plans (plan_id, department_code, evaluation_period, announced_value,"
                " seed_sha256, algorithm_version, population_sha256, sample_sizes, draw_round, matter_code,"
                " industry_code, drawn_on, policy, exclusions, disclosure)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (plan_id, dept, period, announced, seed_of(plan_id, announced), ALGORITHM_VERSION,
                 json.dumps({c: population_hash(md.eligible[c]) for c in CLASSES}), json.dumps(md.sizes),
                 draw_round, matter, industry, drawn_on,
                 json.dumps({"classes": {c: vars(policy[c]) for c in CLASSES},
                             "include_dishonest": settings.get("include_dishonest"),
                             "include_open_complaints": settings.get("include_open_complaints")}),
                 json.dumps({"deregistered": inputs["deregistered"].get((dept, industry), 0), "capped": md.capped,
                             "population": {c: len(md.population[c]) for c in CLASSES}}),
                 settings.get("plan_disclosure", "internal")),
            )  # fmt: skip
            with conn.cursor().copy("COPY ops.inspection_population (plan_id, grade_class, uscc) FROM STDIN") as cp:
                for cls in CLASSES:
                    for uscc in md.eligible[cls]:
                        cp.write_row((plan_id, cls, uscc))
            with conn.cursor().copy(
                "COPY ops.inspection_tasks (task_id, plan_id, department_code, matter_code, industry_code, uscc,"
                " grade_class, inspector_ids, selection, override_reason) FROM STDIN"
            ) as cp:
                for cls in CLASSES:
                    for uscc in md.drawn[cls]:
                        reason = md.forced[cls].get(uscc)
                        cp.write_row((task_id_for(draw_round, uscc), plan_id, dept, matter, industry, uscc, cls,
                                      inspectors[uscc], "override" if reason else "random", reason))  # fmt: skip
            results.append(PlanResult(
                plan_id, dept, matter, {c: len(md.population[c]) for c in CLASSES}, md.sizes,
                {c: len(md.drawn[c]) for c in CLASSES}, sum(len(f) for f in md.forced.values()),
                sum(md.capped.values()), len(md.subjects()), "drawn",
                inputs["deregistered"].get((dept, industry), 0)))  # fmt: skip
    return results

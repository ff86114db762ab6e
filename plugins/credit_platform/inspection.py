"""The double-random draw (双随机、一公开): which subjects each department inspects, and who goes.

Per department and evaluation period, one plan ``<period>-<department_code>``:

1. the population is every subject the department supervises that has a grade in the period and
   is not deregistered, each in its worst grade class across the department's industries;
2. per class, the sample size is ceil(ratio x population), at least the class's minimum count and
   at most the population (ratios from ``marts.dim_inspection_ratios``);
3. the seed is SHA-256 of ``<plan_id>|<announced value>``, the value announced before the draw;
   Python's ``random.Random`` seeded with it draws ``sample(population sorted by USCC, k)`` class by
   class in the order A, B, C, D; SHA-256 of each class's sorted population is recorded, so the draw
   can be recomputed and checked;
4. each drawn subject is inspected on one matter per industry it is supervised in (the first by
   matter code); two inspectors are assigned from the department's roster, skipping any with a
   declared conflict with the subject, least loaded first (ties in a seeded shuffle order);
5. a subject drawn by several departments in the period gets one task id (a joint inspection).

Only the standard library draws; the database only stores the result. ``verify`` recomputes a
past draw from the plan as recorded and the populations as the warehouse gives them now, and
names every difference (seed, a class's population, the stored tasks); ``audit_record`` exports
what ``reference/verify_draw.py`` needs to do the same outside the platform.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass

import psycopg

from credit_platform.warehouse.roles import libpq_url

ALGORITHM_VERSION = "credit-draw-1"
CLASSES = ("A", "B", "C", "D")
INSPECTORS_PER_TASK = 2


@dataclass
class PlanResult:
    plan_id: str
    department_code: str
    population: dict[str, int]
    sample_sizes: dict[str, int]
    tasks: int
    status: str  # drawn, exists, no_population


def seed_of(plan_id: str, announced_value: str) -> str:
    return hashlib.sha256(f"{plan_id}|{announced_value}".encode()).hexdigest()


def population_hash(usccs: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(usccs)).encode()).hexdigest()


def task_id_for(period: str, uscc: str) -> str:
    return "T" + hashlib.sha256(f"{period}|{uscc}".encode()).hexdigest()[:15]


def sample_size(n: int, ratio: float, minimum: int) -> int:
    if n == 0:
        return 0
    return min(n, max(minimum, math.ceil(ratio * n - 1e-9)))


def draw_department(
    plan_id: str,
    announced_value: str,
    population: dict[str, list[str]],
    ratios: dict[str, tuple[float, int]],
) -> tuple[str, dict[str, list[str]]]:
    """The subjects drawn per class (sorted), from populations per class; pure and repeatable."""
    sizes = {}
    for cls in CLASSES:
        ratio, minimum = ratios.get(cls, (0.0, 0))
        sizes[cls] = sample_size(len(population.get(cls, [])), ratio, minimum)
    return seed_of(plan_id, announced_value), draw_sizes(plan_id, announced_value, population, sizes)


def draw_sizes(plan_id: str, announced_value: str, population: dict[str, list[str]],
               sizes: dict[str, int]) -> dict[str, list[str]]:  # fmt: skip
    """The draw itself, given the sample size of each class: ``random.Random`` seeded with the
    SHA-256 of ``<plan_id>|<announced value>`` (as an integer) samples each class's population,
    sorted by USCC, in the order A, B, C, D. ``reference/verify_draw.py`` is the same in a page."""
    rng = random.Random(int(seed_of(plan_id, announced_value), 16))
    return {cls: sorted(rng.sample(sorted(population.get(cls, [])), sizes.get(cls, 0))) for cls in CLASSES}


def assign_inspectors(
    seed: str, subjects: list[str], roster: dict[str, set[str]]
) -> dict[str, list[str]]:
    """Two inspectors per subject without a declared conflict, spreading the load evenly."""
    rng = random.Random(int(seed, 16) ^ 0x5EED)
    order = sorted(roster)
    rng.shuffle(order)
    rank = {i: n for n, i in enumerate(order)}
    load = dict.fromkeys(order, 0)
    out = {}
    for uscc in sorted(subjects):
        eligible = [i for i in order if uscc not in roster[i]]
        if len(eligible) < INSPECTORS_PER_TASK:
            raise RuntimeError(f"fewer than {INSPECTORS_PER_TASK} inspectors without a conflict for {uscc}")
        chosen = sorted(eligible, key=lambda i: (load[i], rank[i]))[:INSPECTORS_PER_TASK]
        for i in chosen:
            load[i] += 1
        out[uscc] = sorted(chosen)
    return out


@dataclass
class Verification:
    plan_id: str
    problems: list[str]

    @property
    def matches(self) -> bool:
        return not self.problems


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
    each class as the warehouse gives it now, and the subjects drawn per class (stored tasks)."""
    with psycopg.connect(libpq_url(url)) as conn:
        plan = conn.execute(
            "SELECT department_code, evaluation_period, announced_value, seed_sha256, algorithm_version,"
            " population_sha256, sample_sizes FROM ops.inspection_plans WHERE plan_id = %s",
            (plan_id,)).fetchone()  # fmt: skip
        if plan is None:
            raise LookupError(f"no inspection plan {plan_id!r} in ops.inspection_plans")
        dept, period, announced, seed, version, hashes, sizes = plan
        population = _populations(_graded(conn, period)).get(dept, {c: [] for c in CLASSES})
        drawn: dict[str, set[str]] = {c: set() for c in CLASSES}
        for uscc, cls in conn.execute("SELECT uscc, grade_class FROM ops.inspection_tasks WHERE plan_id = %s",
                                      (plan_id,)):  # fmt: skip
            drawn[cls].add(uscc)
    return {"plan_id": plan_id, "announced_value": announced, "algorithm_version": version, "seed_sha256": seed,
            "population_sha256": hashes, "sample_sizes": sizes, "population": population,
            "drawn": {c: sorted(v) for c, v in drawn.items()}}  # fmt: skip


def verify_record(record: dict) -> list[str]:
    """Every way the record's draw does not hold; empty when it does."""
    problems = []
    plan_id, announced = record["plan_id"], record["announced_value"]
    if record["algorithm_version"] != ALGORITHM_VERSION:
        return [f"algorithm {record['algorithm_version']!r} is not {ALGORITHM_VERSION!r}: not recomputed here"]
    if seed_of(plan_id, announced) != record["seed_sha256"]:
        problems.append("the seed is not SHA-256 of the plan id and the announced value")
    for cls in CLASSES:
        if population_hash(record["population"].get(cls, [])) != record["population_sha256"].get(cls):
            problems.append(f"the population of class {cls} is not the one drawn from (its SHA-256 differs)")
    again = draw_sizes(plan_id, announced, record["population"], record["sample_sizes"])
    for cls in CLASSES:
        stored, recomputed = set(record["drawn"].get(cls, [])), set(again[cls])
        if stored != recomputed:
            extra, missing = sorted(stored - recomputed), sorted(recomputed - stored)
            problems.append(f"class {cls}: stored tasks differ from the recomputed draw"
                            f" (not drawn but stored: {extra[:5]}; drawn but not stored: {missing[:5]})")  # fmt: skip
    return problems


def verify(url: str, plan_id: str) -> Verification:
    """Recompute a past draw from the warehouse and compare it with what was stored."""
    return Verification(plan_id, verify_record(audit_record(url, plan_id)))


def draw(url: str, period: str, announced_value: str) -> list[PlanResult]:
    """Draw every department's plan for the period (as the publisher role); existing plans are kept."""
    results = []
    with psycopg.connect(libpq_url(url)) as conn:
        ratio_rows = conn.execute("SELECT grade_class, sampling_ratio, min_count FROM marts.dim_inspection_ratios")
        ratios = {c: (float(r), int(m)) for c, r, m in ratio_rows}
        graded = _graded(conn, period)
        matters = defaultdict(list)
        for dept, matter, industry in conn.execute(
            "SELECT department_code, matter_code, industry_code FROM marts.dim_inspection_matters ORDER BY matter_code"
        ):
            matters[(dept, industry)].append(matter)
        rosters: dict[str, dict[str, set[str]]] = defaultdict(dict)
        for dept, inspector, conflicts in conn.execute(
            "SELECT department_code, inspector_id, conflict_usccs FROM marts.dim_inspectors"
        ):
            rosters[dept][inspector] = set(conflicts or [])

        populations = _populations(graded)
        industries: dict[tuple[str, str], set[str]] = defaultdict(set)
        for dept, uscc, industry, _cls in graded:
            industries[(dept, uscc)].add(industry)

        for dept in sorted(populations):
            plan_id = f"{period}-{dept}"
            if conn.execute("SELECT 1 FROM ops.inspection_plans WHERE plan_id = %s", (plan_id,)).fetchone():
                n = conn.execute("SELECT count(*) FROM ops.inspection_tasks WHERE plan_id = %s", (plan_id,)).fetchone()
                results.append(PlanResult(plan_id, dept, {}, {}, n[0], "exists"))
                continue
            population = populations[dept]
            seed, drawn = draw_department(plan_id, announced_value, population, ratios)
            subjects = [u for cls in CLASSES for u in drawn[cls]]
            inspectors = assign_inspectors(seed, subjects, rosters.get(dept, {}))
            klass = {u: cls for cls in CLASSES for u in drawn[cls]}
            rows = []
            for uscc in sorted(subjects):
                for industry in sorted(industries[(dept, uscc)]):
                    candidates = matters.get((dept, industry))
                    if not candidates:
                        continue
                    rows.append((task_id_for(period, uscc), plan_id, dept, candidates[0], industry, uscc,
                                 klass[uscc], inspectors[uscc]))  # fmt: skip
            sizes = {c: len(drawn[c]) for c in CLASSES}
            with conn.transaction():
                conn.execute(
                    "INSERT INTO ops.inspection_plans (plan_id, department_code, evaluation_period, announced_value,"
                    " seed_sha256, algorithm_version, population_sha256, sample_sizes)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (plan_id, dept, period, announced_value, seed, ALGORITHM_VERSION,
                     json.dumps({c: population_hash(population.get(c, [])) for c in CLASSES}),
                     json.dumps(sizes)),
                )  # fmt: skip
                with conn.cursor().copy(
                    "COPY ops.inspection_tasks (task_id, plan_id, department_code, matter_code, industry_code, uscc,"
                    " grade_class, inspector_ids) FROM STDIN"
                ) as cp:
                    for r in rows:
                        cp.write_row(r)
            results.append(PlanResult(plan_id, dept, {c: len(population.get(c, [])) for c in CLASSES}, sizes,
                                      len(rows), "drawn"))  # fmt: skip
    return results

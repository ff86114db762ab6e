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

Only the standard library draws; the database only stores the result.
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
    seed = seed_of(plan_id, announced_value)
    rng = random.Random(int(seed, 16))
    drawn = {}
    for cls in CLASSES:
        pop = sorted(population.get(cls, []))
        ratio, minimum = ratios.get(cls, (0.0, 0))
        k = sample_size(len(pop), ratio, minimum)
        drawn[cls] = sorted(rng.sample(pop, k))
    return seed, drawn


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


def draw(url: str, period: str, announced_value: str) -> list[PlanResult]:
    """Draw every department's plan for the period (as the publisher role); existing plans are kept."""
    results = []
    with psycopg.connect(libpq_url(url)) as conn:
        ratio_rows = conn.execute("SELECT grade_class, sampling_ratio, min_count FROM marts.dim_inspection_ratios")
        ratios = {c: (float(r), int(m)) for c, r, m in ratio_rows}
        graded = conn.execute(
            """
            SELECT sc.department_code, g.uscc, g.industry_code, g.grade_class
              FROM marts.fct_industry_credit_grades g
              JOIN marts.fct_supervision_scopes sc
                ON sc.uscc = g.uscc AND sc.industry_code = g.industry_code AND sc.department_code = g.department_code
             WHERE g.evaluation_period = %s AND NOT sc.is_deregistered
            """,
            (period,),
        ).fetchall()
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

        by_dept: dict[str, dict[str, str]] = defaultdict(dict)  # dept -> uscc -> worst class
        industries: dict[tuple[str, str], set[str]] = defaultdict(set)
        for dept, uscc, industry, cls in graded:
            prev = by_dept[dept].get(uscc)
            by_dept[dept][uscc] = cls if prev is None else max(prev, cls)
            industries[(dept, uscc)].add(industry)

        for dept in sorted(by_dept):
            plan_id = f"{period}-{dept}"
            if conn.execute("SELECT 1 FROM ops.inspection_plans WHERE plan_id = %s", (plan_id,)).fetchone():
                n = conn.execute("SELECT count(*) FROM ops.inspection_tasks WHERE plan_id = %s", (plan_id,)).fetchone()
                results.append(PlanResult(plan_id, dept, {}, {}, n[0], "exists"))
                continue
            population: dict[str, list[str]] = defaultdict(list)
            for uscc, cls in by_dept[dept].items():
                population[cls].append(uscc)
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

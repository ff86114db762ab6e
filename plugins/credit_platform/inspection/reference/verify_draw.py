#!/usr/bin/env python3
"""Recompute a double-random draw (双随机抽查) and say whether it matches. Standard library only.

    python3 verify_draw.py kit_<plan_id>.json [more files or folders ...]

A file is either a plan's verification kit, as published in ``<outbox>/inspections/<round>/`` (a
folder is read for its ``kit_*.json``), or what ``credit-platform verify-draw PLAN_ID --export
plan.json`` writes. Both hold ``plan_id``, ``announced_value``, ``algorithm_version``,
``seed_sha256``, ``population_sha256`` and ``sample_sizes`` per class, ``population`` (the credit
codes of each class drawn from), ``overrides`` (those of each class inspected whatever the draw:
必检) and ``drawn`` (the codes inspected per class, overrides included).

Algorithm ``credit-draw-3``: seed = SHA-256 hex of ``<plan_id>|<announced_value>`` (UTF-8). In each
class the subjects of the population that are not overrides are ranked by SHA-256 hex of
``<seed>|<credit code>`` and the ``sample_sizes[class]`` less the class's overrides (never more
than there are) with the lowest values are drawn; the drawn subjects are those plus the overrides.
A kit lists a natural person's subject as ``masked:<that SHA-256>`` instead of its code. A kit also
carries the round's ``announcement``: it must have been made before the draw time, the value
recorded between the announcement and the draw, the plan drawn at or after the draw time with the
announced value; and each class's sample size must be ``ceil(ratio x population count)``, at least
its minimum, at most the count (``policy``, ``population_counts``).

``credit-draw-2``: Python's ``random.Random`` seeded with the seed read as a hexadecimal integer
samples, for the classes A, B, C and D in that order, the same number from the population without
its overrides, sorted by code. ``credit-draw-1`` is the same without overrides. The population hash
of a class is SHA-256 of its sorted codes joined by newlines (checked when no entry is masked).
Exit status 0: every draw matches; 1: one does not (each difference printed); 2: unreadable input.
"""

import datetime
import hashlib
import json
import math
import random
import sys
from pathlib import Path

CLASSES = ("A", "B", "C", "D")
ALGORITHMS = ("credit-draw-1", "credit-draw-2", "credit-draw-3")
MASKED = "masked:"


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rank(seed, entry):
    """The rank key of a population entry: given for a masked one, computed for a credit code."""
    return entry[len(MASKED):] if entry.startswith(MASKED) else sha256(f"{seed}|{entry}")


def sample_size(n, ratio, minimum):
    return 0 if n == 0 else min(n, max(minimum, math.ceil(ratio * n - 1e-9)))


def announcement_problems(plan):
    a = plan.get("announcement")
    if not a:
        return ["no announcement of the round in the kit"]
    problems = []
    try:
        announced_at, draw_at = (datetime.datetime.fromisoformat(a[k]) for k in ("announced_at", "draw_at"))
        drawn_at = datetime.datetime.fromisoformat(plan["drawn_at"])
        recorded = a.get("value_recorded_at")
        recorded_at = datetime.datetime.fromisoformat(recorded) if recorded else None
    except (KeyError, TypeError, ValueError) as exc:
        return [f"the announcement's times cannot be read: {exc}"]
    if announced_at >= draw_at:
        problems.append(f"announced at {a['announced_at']}, not before the draw time {a['draw_at']}")
    if drawn_at < draw_at:
        problems.append(f"drawn at {plan['drawn_at']}, before the announced draw time {a['draw_at']}")
    if recorded_at is None or not announced_at <= recorded_at <= drawn_at:
        problems.append("the value was not recorded between the announcement and the draw")
    if a.get("announced_value") != plan["announced_value"]:
        problems.append("the plan's value differs from the announced value")
    return problems


def check(plan):
    """Every difference between the plan and its recomputed draw."""
    version = plan["algorithm_version"]
    if version not in ALGORITHMS:
        return [f"unknown algorithm {version!r}"]
    problems = announcement_problems(plan) if "announcement" in plan or "kit_format" in plan else []
    seed = sha256(f"{plan['plan_id']}|{plan['announced_value']}")
    if seed != plan["seed_sha256"]:
        problems.append("seed differs from SHA-256 of plan id and announced value")
    rng = random.Random(int(seed, 16)) if version != "credit-draw-3" else None
    overrides = plan.get("overrides") or {}
    for cls in CLASSES:
        population = sorted(plan["population"].get(cls, []))
        if len(set(population)) != len(population):
            problems.append(f"class {cls}: an entry of the population is listed twice")
        if not any(u.startswith(MASKED) for u in population):
            if sha256("\n".join(population)) != plan["population_sha256"].get(cls):
                problems.append(f"class {cls}: population hash differs")
        if "policy" in plan:
            rule, n = plan["policy"][cls], plan["population_counts"][cls]
            expected = sample_size(n, rule["ratio"], rule["min_count"])
            if plan["sample_sizes"].get(cls) != expected:
                problems.append(f"class {cls}: sample size {plan['sample_sizes'].get(cls)} is not ceil({rule['ratio']}"
                                f" x {n}) (at least {rule['min_count']}, at most {n}) = {expected}")
            if n < len(population):
                problems.append(f"class {cls}: more subjects drawn from ({len(population)}) than counted ({n})")
        must = set(overrides.get(cls, []))
        if not must <= set(population):
            problems.append(f"class {cls}: overrides outside the population: {sorted(must - set(population))}")
        rest = [u for u in population if u not in must]
        k = min(len(rest), max(0, plan["sample_sizes"].get(cls, 0) - len(must)))
        if rng is not None:
            chosen = rng.sample(rest, k)
        else:
            chosen = sorted(rest, key=lambda u: (rank(seed, u), u))[:k]
        drawn, stored = set(must) | set(chosen), set(plan["drawn"].get(cls, []))
        if drawn != stored:
            extra, missing = sorted(stored - drawn), sorted(drawn - stored)
            problems.append(f"class {cls}: the drawn subjects differ from the recomputed draw"
                            f" (listed but not drawn: {extra}; drawn but not listed: {missing})")
    return problems


def files(args):
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(path.glob("kit_*.json"))
        else:
            yield path


def main(args):
    if not args:
        print(__doc__)
        return 2
    status, seen = 0, 0
    for path in files(args):
        seen += 1
        try:
            plan = json.loads(path.read_text(encoding="utf-8"))
            problems = check(plan)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"{path}: cannot be read as a plan ({type(exc).__name__}: {exc})")
            status = max(status, 2)
            continue
        for p in problems:
            print("MISMATCH", p)
        print(f"{plan['plan_id']}: {'MATCH' if not problems else 'MISMATCH'}")
        if problems:
            status = max(status, 1)
    if not seen:
        print("no plan found (a folder is read for its kit_*.json)")
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

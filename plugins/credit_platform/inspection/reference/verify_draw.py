#!/usr/bin/env python3
"""Recompute a double-random draw (双随机抽查) and say whether it matches. Standard library only.

    python3 verify_draw.py plan.json

``plan.json`` is what ``credit-platform verify-draw PLAN_ID --export plan.json`` writes (or what a
department publishes with its plan): ``plan_id``, ``announced_value``, ``algorithm_version``,
``seed_sha256``, ``population_sha256`` and ``sample_sizes`` per class, ``population`` (the USCCs of
each class drawn from), ``overrides`` (the USCCs of each class inspected whatever the draw: 必检)
and ``drawn`` (the USCCs inspected per class, overrides included).

Algorithm ``credit-draw-2``: seed = SHA-256 of ``<plan_id>|<announced_value>`` (UTF-8); Python's
``random.Random`` seeded with that digest read as a hexadecimal integer samples, for the classes
A, B, C and D in that order, ``sample_sizes[class]`` less the class's overrides (never more than
there are) from the class's population without its overrides, sorted by USCC. The drawn subjects
are those plus the overrides. ``credit-draw-1`` is the same without overrides. The population
hash of a class is SHA-256 of its sorted USCCs joined by newlines.
Exit status 0: the draw matches; 1: it does not (each difference printed).
"""

import hashlib
import json
import random
import sys

CLASSES = ("A", "B", "C", "D")
ALGORITHMS = ("credit-draw-1", "credit-draw-2")


def main(path):
    with open(path, encoding="utf-8") as fh:
        plan = json.load(fh)
    if plan["algorithm_version"] not in ALGORITHMS:
        print(f"unknown algorithm {plan['algorithm_version']!r}")
        return 1
    seed = hashlib.sha256(f"{plan['plan_id']}|{plan['announced_value']}".encode()).hexdigest()
    problems = [] if seed == plan["seed_sha256"] else ["seed differs from SHA-256 of plan id and announced value"]
    rng = random.Random(int(seed, 16))
    overrides = plan.get("overrides") or {}
    for cls in CLASSES:
        population = sorted(plan["population"].get(cls, []))
        if hashlib.sha256("\n".join(population).encode()).hexdigest() != plan["population_sha256"].get(cls):
            problems.append(f"class {cls}: population hash differs")
        must = set(overrides.get(cls, []))
        if not must <= set(population):
            problems.append(f"class {cls}: overrides outside the population")
        rest = [u for u in population if u not in must]
        k = min(len(rest), max(0, plan["sample_sizes"].get(cls, 0) - len(must)))
        drawn = sorted(must | set(rng.sample(rest, k)))
        if drawn != sorted(plan["drawn"].get(cls, [])):
            problems.append(f"class {cls}: the drawn subjects differ from the recomputed draw")
    for p in problems:
        print("MISMATCH", p)
    print(f"{plan['plan_id']}: {'MATCH' if not problems else 'MISMATCH'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

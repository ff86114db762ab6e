#!/usr/bin/env python3
"""Recompute a double-random draw (双随机抽查) and say whether it matches. Standard library only.

    python3 verify_draw.py plan.json

``plan.json`` is what ``credit-platform verify-draw PLAN_ID --export plan.json`` writes (or what a
department publishes with its plan): ``plan_id``, ``announced_value``, ``algorithm_version``,
``seed_sha256``, ``population_sha256`` and ``sample_sizes`` per class, ``population`` (the USCCs of
each class) and ``drawn`` (the USCCs inspected per class).

Algorithm ``credit-draw-1``: seed = SHA-256 of ``<plan_id>|<announced_value>`` (UTF-8); Python's
``random.Random`` seeded with that digest read as a hexadecimal integer samples, for the classes
A, B, C and D in that order, ``sample_sizes[class]`` subjects from the class's population sorted
by USCC. The population hash of a class is SHA-256 of its sorted USCCs joined by newlines.
Exit status 0: the draw matches; 1: it does not (each difference printed).
"""

import hashlib
import json
import random
import sys

CLASSES = ("A", "B", "C", "D")


def main(path):
    with open(path, encoding="utf-8") as fh:
        plan = json.load(fh)
    if plan["algorithm_version"] != "credit-draw-1":
        print(f"unknown algorithm {plan['algorithm_version']!r}")
        return 1
    seed = hashlib.sha256(f"{plan['plan_id']}|{plan['announced_value']}".encode()).hexdigest()
    problems = [] if seed == plan["seed_sha256"] else ["seed differs from SHA-256 of plan id and announced value"]
    rng = random.Random(int(seed, 16))
    for cls in CLASSES:
        population = sorted(plan["population"].get(cls, []))
        if hashlib.sha256("\n".join(population).encode()).hexdigest() != plan["population_sha256"].get(cls):
            problems.append(f"class {cls}: population hash differs")
        drawn = sorted(rng.sample(population, plan["sample_sizes"].get(cls, 0)))
        if drawn != sorted(plan["drawn"].get(cls, [])):
            problems.append(f"class {cls}: the drawn subjects differ from the recomputed draw")
    for p in problems:
        print("MISMATCH", p)
    print(f"{plan['plan_id']}: {'MATCH' if not problems else 'MISMATCH'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Grading's limit: the scores of ``one_pass.sql`` (one query, each staged record read once), and
how many of them differ from the model's ``marts.fct_industry_credit_grades``."""

from __future__ import annotations

import time
from importlib.resources import files

import psycopg


def query() -> str:
    return (files(__package__) / "one_pass.sql").read_text(encoding="utf-8")


def compare(url: str) -> tuple[int, int, float]:
    """(scores computed, scores that differ from the model's or exist on one side only, seconds the
    query took). Refused when a period is closed: the query follows the rules for open periods only."""
    with psycopg.connect(url) as conn:
        (closed,) = conn.execute("SELECT count(*) FROM ops.period_closures").fetchone()
        if closed:
            raise RuntimeError("a period is closed: the one-pass query knows the rules of open periods only")
        # One query has no statistics between its steps, and the rows estimated through the staging
        # views' window functions are a few hundred where there are a hundred thousand: nested loops
        # chosen on those estimates grow with the square of the city (at 100,000 subjects, over 80 s
        # against 21 s with hash and merge joins only).
        conn.execute("SET LOCAL enable_nestloop = off")
        t0 = time.perf_counter()
        conn.execute("CREATE TEMP TABLE bench_one_pass AS " + query())
        seconds = time.perf_counter() - t0
        (rows,) = conn.execute("SELECT count(*) FROM bench_one_pass").fetchone()
        (differing,) = conn.execute(
            "SELECT count(*) FROM bench_one_pass AS o FULL JOIN marts.fct_industry_credit_grades AS g"
            " USING (uscc, industry_code, evaluation_period) WHERE o.score IS DISTINCT FROM g.score").fetchone()
    return rows, differing, seconds

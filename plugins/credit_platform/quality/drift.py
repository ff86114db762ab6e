"""Drift gate: how far a period's class shares moved from the previous period's, per industry.

The population stability index over the classes A-D, PSI = sum((p - q) * ln(p / q)) with p the
share now and q the share in the previous period of the industry (a share under 0.5% counts as 0.5%,
so that one subject entering an empty class of a small industry is not a shift), is computed for every industry
graded in both periods. Above the threshold (``CREDIT_DRIFT_PSI_THRESHOLD``, default 0.25: the
usual "significant shift" line) publication is blocked until someone releases the period with a
reason (``credit-platform release PERIOD``, kept in ``ops.publication_approvals``). Every check is
a row of ``ops.validation_runs`` (stage ``drift``). An industry without a previous period has no
baseline: it passes, with that note.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field

import psycopg

from credit_platform.grade_levels import CLASSES  # A, B, C, D: seed grade_levels

log = logging.getLogger(__name__)

FLOOR = 0.005


def threshold() -> float:
    return float(os.environ.get("CREDIT_DRIFT_PSI_THRESHOLD", "0.25"))


def psi(now: dict[str, int], before: dict[str, int]) -> float:
    """Population stability index of two class counts (``{class: subjects}``)."""
    n, m = sum(now.values()), sum(before.values())
    total = 0.0
    for c in CLASSES:
        p = max(now.get(c, 0) / n, FLOOR) if n else FLOOR
        q = max(before.get(c, 0) / m, FLOOR) if m else FLOOR
        total += (p - q) * math.log(p / q)
    return total


@dataclass
class DriftOutcome:
    period: str
    success: bool
    threshold: float
    industries: list[dict] = field(default_factory=list)
    validation_run_id: int | None = None

    @property
    def drifted(self) -> list[dict]:
        return [i for i in self.industries if i.get("psi") is not None and i["psi"] > self.threshold]

    def message(self) -> str:
        if self.success:
            return f"{self.period}: class shares within PSI {self.threshold} of the previous period"
        parts = [f"{i['industry_code']} PSI {i['psi']:.3f} ({i['previous_period']} {i['before']} -> {i['now']})"
                 for i in self.drifted]  # fmt: skip
        return (f"{self.period}: grades drifted beyond PSI {self.threshold} in {len(parts)} industr"
                f"{'y' if len(parts) == 1 else 'ies'}: " + "; ".join(parts)
                + f". Publication waits for: credit-platform release {self.period} --reason ... --by ...")  # fmt: skip


def _counts(conn, period: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for industry, grade_class, n in conn.execute(
        "SELECT industry_code, grade_class, count(*) FROM marts.fct_industry_credit_grades"
        " WHERE evaluation_period = %s GROUP BY 1, 2", (period,)):  # fmt: skip
        out.setdefault(industry, {})[grade_class] = n
    return out


def check_drift(url: str, period: str | None = None, *, record: bool = True) -> DriftOutcome:
    """Compare ``period`` (default: the latest graded) with each industry's previous period."""
    limit = threshold()
    t0 = time.monotonic()
    with psycopg.connect(url) as conn:
        periods = conn.execute(
            "SELECT DISTINCT evaluation_period, period_end_date FROM marts.fct_industry_credit_grades"
            " ORDER BY period_end_date").fetchall()  # fmt: skip
        if not periods:
            raise ValueError("marts.fct_industry_credit_grades is empty: nothing to compare")
        names = [p for p, _ in periods]
        period = period or names[-1]
        if period not in names:
            raise ValueError(f"{period} is not graded (graded: {', '.join(names)})")
        now = _counts(conn, period)
        earlier = names[: names.index(period)]
        industries = []
        graded = {p: _counts(conn, p) for p in earlier}
        for industry in sorted(now):
            previous = next((p for p in reversed(earlier) if industry in graded[p]), None)
            entry = {"industry_code": industry, "now": now[industry], "previous_period": previous}
            if previous is None:
                entry.update(psi=None, note="no previous period: no baseline, passes")
            else:
                before = graded[previous][industry]
                entry.update(before=before, psi=round(psi(now[industry], before), 4))
            industries.append(entry)
        outcome = DriftOutcome(period, True, limit, industries)
        outcome.success = not outcome.drifted
        if record:
            failed = [{"expectation": "class_share_psi_at_most",
                       "kwargs": {"industry": i["industry_code"], "threshold": limit},
                       "unexpected_count": i["psi"], "partial_unexpected_list": [i["before"], i["now"]]}
                      for i in outcome.drifted]  # fmt: skip
            details = {"period": period, "threshold": limit, "industries": industries, "failed": failed}
            outcome.validation_run_id = conn.execute(
                "INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed, details, seconds)"
                " VALUES ('drift', 'class_share_psi', %s, %s, %s, %s, %s) RETURNING validation_run_id",
                (outcome.success, len(industries), len(outcome.drifted), json.dumps(details, ensure_ascii=False),
                 round(time.monotonic() - t0, 3)),
            ).fetchone()[0]  # fmt: skip
    (log.info if outcome.success else log.warning)("%s", outcome.message())
    return outcome


def release(url: str, period: str, *, reason: str, approved_by: str) -> int:
    """Release a drifted period for publication (recorded in ops.publication_approvals)."""
    if not reason.strip():
        raise ValueError("a release needs a reason (--reason)")
    if not approved_by.strip():
        raise ValueError("say who releases it (--by)")
    with psycopg.connect(url) as conn:
        run = conn.execute(
            "SELECT validation_run_id, success FROM ops.validation_runs WHERE stage = 'drift'"
            " AND details ->> 'period' = %s ORDER BY validation_run_id DESC LIMIT 1", (period,)).fetchone()  # fmt: skip
        if run is None:
            raise ValueError(f"no drift check of {period} yet: run the grading first")
        if run[1]:
            raise ValueError(f"the latest drift check of {period} passed: nothing to release")
        return conn.execute(
            "INSERT INTO ops.publication_approvals (evaluation_period, validation_run_id, reason, approved_by)"
            " VALUES (%s, %s, %s, %s) RETURNING approval_id",
            (period, run[0], reason, approved_by)).fetchone()[0]  # fmt: skip


def blocked(conn, period: str) -> str | None:
    """Why publication of ``period`` must wait, or None: its latest drift check failed, unreleased."""
    run = conn.execute(
        "SELECT validation_run_id, success, details FROM ops.validation_runs WHERE stage = 'drift'"
        " AND details ->> 'period' = %s ORDER BY validation_run_id DESC LIMIT 1", (period,)).fetchone()  # fmt: skip
    if run is None or run[1]:
        return None
    if conn.execute("SELECT 1 FROM ops.publication_approvals WHERE validation_run_id = %s", (run[0],)).fetchone():
        return None
    drifted = ", ".join(f"{f['kwargs']['industry']} PSI {f['unexpected_count']}" for f in run[2].get("failed", []))
    return (f"the grades of {period} drifted from the previous period beyond PSI {run[2].get('threshold')}"
            f" ({drifted}); release them first: credit-platform release {period} --reason ... --by ...")  # fmt: skip

"""Closed evaluation periods, logged re-grading, and rebuilding the warehouse from the archive.

Closing a period (``credit-platform close-period``) records a cutoff and the rule version in
``ops.period_closures``. From then on the period's grades are computed only from batches loaded
before the cutoff, under that rule version: a later province push, a late department file or a
new rule version changes open periods, never a closed one. Records that arrive late are listed in
``marts.fct_late_records``. Re-grading a closed period with them (``credit-platform regrade``) is
an explicit action with a reason and a person, kept in the same table.

``rebuild`` proves it: it drops every relation of ``staging``, ``intermediate`` and ``marts``,
has ingest replay the archive (``credit_platform.ingest.replay``: ``raw`` emptied, every batch
of the archive's ledger landed again under its own batch id from the archived file alone), and
runs dbt; every closed period's grades come back row by
row. The grade history (schema ``history``) and the run records (``ops``) are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from credit_platform.settings import today

log = logging.getLogger(__name__)

REBUILT_SCHEMAS = ("staging", "intermediate", "marts")


class PeriodError(RuntimeError):
    pass


@dataclass
class Closure:
    evaluation_period: str
    action: str
    cutoff_at: dt.datetime
    rule_version: str
    reason: str
    requested_by: str


def _period_row(conn, period: str) -> tuple[dt.date, dt.date]:
    try:
        row = conn.execute(
            "SELECT period_start_date, period_end_date FROM marts.dim_evaluation_periods WHERE evaluation_period = %s",
            (period,),
        ).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        raise PeriodError("the evaluation periods are not in the warehouse yet: run the grading first") from exc
    if row is None:
        known = [r[0] for r in conn.execute("SELECT evaluation_period FROM marts.dim_evaluation_periods ORDER BY 1")]
        raise PeriodError(f"unknown evaluation period {period!r} (seed evaluation_periods has: {', '.join(known)})")
    return row[0], row[1]


def _rule_version_in_force(conn, period: str, end: dt.date) -> str:
    rows = conn.execute(
        "SELECT rule_version FROM marts.dim_rule_versions WHERE %s >= effective_from"
        " AND (effective_to IS NULL OR %s <= effective_to) ORDER BY effective_from DESC",
        (end, end),
    ).fetchall()
    if not rows:
        raise PeriodError(f"no rule version is in force at {end}, the end of {period} (seed rule_versions)")
    return rows[0][0]


def _record(conn, period: str, action: str, rule_version: str, reason: str, requested_by: str) -> Closure:
    """One action in ops.period_closures; its cutoff is the moment it is recorded.

    The fingerprint of the rule version's rules (as the last grading built them) goes with it, so
    that editing those rules in place afterwards fails the grading (closed_period_rules_unchanged).
    """
    try:
        fingerprint = conn.execute("SELECT rule_fingerprint FROM marts.dim_rule_versions"
                                   " WHERE rule_version = %s", (rule_version,)).fetchone()  # fmt: skip
    except psycopg.errors.UndefinedTable as exc:
        raise PeriodError("the rules are not in the warehouse yet: run the grading first") from exc
    if fingerprint is None:
        raise PeriodError(f"rule version {rule_version} is not in the last grading run: run the grading first")
    row = conn.execute(
        "INSERT INTO ops.period_closures (evaluation_period, action, cutoff_at, rule_version, rule_fingerprint,"
        " reason, requested_by) VALUES (%s, %s, clock_timestamp(), %s, %s, %s, %s)"
        " RETURNING evaluation_period, action, cutoff_at, rule_version, reason, requested_by",
        (period, action, rule_version, fingerprint[0], reason, requested_by),
    ).fetchone()  # fmt: skip
    return Closure(*row)


CLOSING_REASON = "评价期结束，结果确定 / period ended"


def close_period(url: str, period: str, *, requested_by: str, reason: str = CLOSING_REASON) -> Closure:
    """Close an ended period: its grades keep the data loaded until now and its rule version."""
    if not requested_by.strip():
        raise PeriodError("say who closes the period (--by)")
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('period_closures', 0))")
        _, end = _period_row(conn, period)
        if end >= today():
            raise PeriodError(f"{period} ends on {end}: it can be closed from the day after")
        done = conn.execute("SELECT recorded_at FROM ops.period_closures"
                            " WHERE evaluation_period = %s AND action = 'close'", (period,)).fetchone()  # fmt: skip
        if done:
            raise PeriodError(f"{period} was closed at {done[0]:%Y-%m-%d %H:%M %Z}; to include late records,"
                              f" re-grade it: credit-platform regrade {period} --reason ... --by ...")  # fmt: skip
        closure = _record(conn, period, "close", _rule_version_in_force(conn, period, end), reason, requested_by)
    log.info("closed %s at %s under rule version %s", period, closure.cutoff_at, closure.rule_version)
    return closure


def regrade(url: str, period: str, *, requested_by: str, reason: str, rule_version: str | None = None) -> Closure:
    """Re-grade a closed period, logged: its cutoff moves to now, so late records count there.

    The period keeps the rule version it was closed with unless ``rule_version`` names another
    (which must exist in seed rule_versions); either way the action is recorded with its reason.
    """
    if not reason.strip():
        raise PeriodError("a re-grading needs a reason (--reason)")
    if not requested_by.strip():
        raise PeriodError("say who asks for the re-grading (--by)")
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('period_closures', 0))")
        _period_row(conn, period)
        last = conn.execute(
            "SELECT rule_version FROM ops.period_closures WHERE evaluation_period = %s"
            " ORDER BY recorded_at DESC, closure_id DESC LIMIT 1", (period,)).fetchone()  # fmt: skip
        if last is None:
            raise PeriodError(f"{period} is not closed: its grades already follow every record; nothing to re-grade")
        if rule_version and not conn.execute("SELECT 1 FROM marts.dim_rule_versions WHERE rule_version = %s",
                                             (rule_version,)).fetchone():  # fmt: skip
            raise PeriodError(f"unknown rule version {rule_version!r} (seed rule_versions)")
        closure = _record(conn, period, "regrade", rule_version or last[0], reason, requested_by)
    log.info("re-grading %s from %s: %s (%s)", period, closure.cutoff_at, reason, requested_by)
    return closure


@dataclass
class RebuildReport:
    batches: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds_reset: float = 0.0
    seconds_landing: float = 0.0
    seconds_dbt: float = 0.0
    from_database_only: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.seconds_reset + self.seconds_landing + self.seconds_dbt


def _drop_built(admin: str) -> None:
    """Drop every relation dbt builds (staging, intermediate, marts); history is kept."""
    with psycopg.connect(admin) as conn:
        for kind, keyword in (("v", "VIEW"), ("m", "MATERIALIZED VIEW"), ("r", "TABLE")):
            for (name,) in conn.execute(
                "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind = %s",
                (list(REBUILT_SCHEMAS), kind),
            ).fetchall():  # fmt: skip
                conn.execute(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(keyword), sql.SQL(name)))


def rebuild(admin: str, *, archive_dir: Path | None = None, run_dbt_build: bool = True,
            dbt_project: Path | None = None) -> RebuildReport:
    """Rebuild raw through marts from ``$CREDIT_ARCHIVE`` alone (see the module docstring)."""
    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.ingest import replay

    try:
        planned = replay.plan(admin, archive_dir)
    except replay.ArchiveIncomplete as exc:
        raise PeriodError(str(exc)) from exc
    report = RebuildReport(batches=len(planned.entries), from_database_only=planned.from_database_only)
    started = time.perf_counter()
    _drop_built(admin)
    report.seconds_reset = time.perf_counter() - started
    replay.replay(admin, planned)
    report.rows_loaded, report.rows_rejected = planned.rows_loaded, planned.rows_rejected
    report.seconds_landing = planned.seconds
    if run_dbt_build:
        started = time.perf_counter()
        run = run_dbt(["build", "--quiet"], base_url=admin, capture=True, project=dbt_project)
        report.seconds_dbt = time.perf_counter() - started
        if run.returncode != 0:
            raise PeriodError(f"dbt build failed after the rebuild:\n{run.stdout[-4000:]}{run.stderr[-2000:]}")
    return report

"""The whole job end to end, as ``make demo`` runs it: data generated into the inbox, then each
DAG run in order with ``airflow dags test`` (real task runs against the warehouse), then a summary.

Running it again is safe: the data is regenerated only when the seed or size changed (the loader
skips files it has loaded), grades are rebuilt, unchanged publications are not repeated, and
existing inspection plans are kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from credit_platform.grade_levels import CLASSES
from credit_platform.local import services
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, url_for

DAG_ORDER = ["ingest_province", "ingest_departments", "grade_industries", "draw_inspections", "publish_grades"]


@dataclass
class DagRun:
    dag_id: str
    seconds: float
    success: bool
    log: Path


def prepare_airflow(env: dict) -> None:
    """Airflow's metadata database migrated and every DAG serialised (so assets can queue runs)."""
    services.prepare(env)
    services.run_airflow(["dags", "reserialize"], env, check=True)


def run_dag(dag_id: str, env: dict, log_dir: Path, conf: dict | None = None) -> DagRun:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"dags-test-{dag_id}.log"
    args = ["dags", "test", dag_id]
    if conf:
        args += ["--conf", json.dumps(conf)]
    t0 = time.monotonic()
    res = services.run_airflow(args, env, log=log)
    text = log.read_text(errors="replace")
    ok = res.returncode == 0 and "state=success" in text and "DagRun Finished" in text
    return DagRun(dag_id, time.monotonic() - t0, ok, log)


def run_chain(env: dict, *, log_dir: Path | None = None, dags: list[str] | None = None,
              on_done=None) -> list[DagRun]:  # fmt: skip
    log_dir = log_dir or paths().run
    prepare_airflow(env)
    runs = []
    for dag_id in dags or DAG_ORDER:
        run = run_dag(dag_id, env, log_dir)
        runs.append(run)
        if on_done:
            on_done(run)
        if not run.success:
            break
    return runs


def _per_class(template: str) -> sql.Composed:
    """``template`` (one ``{}`` for the class) once per grade class of seed grade_levels, joined by commas."""
    return sql.SQL(", ").join(sql.SQL(template).format(sql.Literal(c)) for c in CLASSES)


def summary(base_url: str) -> str:
    """What the chain did, read as the analyst role."""
    lines = []
    with psycopg.connect(libpq_url(url_for("analyst", base_url))) as conn:
        lines.append("Loaded per source (all batches):")
        lines.append(f"  {'source':22} {'files':>5} {'rows in':>9} {'loaded':>9} {'rejected':>9}  failed  duplicates"
                     "  quarantined")  # fmt: skip
        for src, files, rin, rl, rr, failed, dups, quarantined in conn.execute(
            "SELECT source, count(*) FILTER (WHERE status = 'loaded'), sum(rows_in), sum(rows_loaded),"
            " sum(rows_rejected), count(*) FILTER (WHERE status = 'failed'),"
            " count(*) FILTER (WHERE status = 'duplicate'), count(*) FILTER (WHERE status = 'quarantined')"
            " FROM ops.load_batches GROUP BY source ORDER BY source"
        ):
            lines.append(f"  {src:22} {files:>5} {rin or 0:>9} {rl or 0:>9} {rr or 0:>9}  {failed:>6}  {dups:>10}"
                         f"  {quarantined:>11}")  # fmt: skip
        for batch_id, file, reason in conn.execute(
            "SELECT batch_id, source_file, quarantine_reason FROM ops.load_batches WHERE status = 'quarantined'"
            " ORDER BY batch_id DESC LIMIT 10"
        ):
            lines.append(f"  quarantined batch {batch_id} {file}: {(reason or '')[:160]}")
        for batch_id, file, error in conn.execute(
            "SELECT batch_id, source_file, gate_error FROM ops.load_batches WHERE status = 'landed'"
            " ORDER BY batch_id DESC LIMIT 10"
        ):
            why = f": {error[:160]}" if error else ""
            lines.append(f"  batch {batch_id} {file} not gated yet, not graded (the next load gates it){why}")
        reasons = conn.execute(
            "SELECT reason_code, count(*) FROM ops.rejected_rows GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        if reasons:
            lines.append("  rejected by reason: " + ", ".join(f"{r} {n}" for r, n in reasons))

        lines.append("\nQuality gates (Great Expectations; latest run per stage, Data Docs under make docs):")
        gates = conn.execute(
            "SELECT DISTINCT ON (stage) stage, success, evaluated, failed, seconds, data_docs_url,"
            " (SELECT count(*) FROM ops.validation_runs r WHERE r.stage = v.stage),"
            " (SELECT sum(r.seconds) FROM ops.validation_runs r WHERE r.stage = v.stage)"
            " FROM ops.validation_runs v ORDER BY stage, validated_at DESC"
        ).fetchall()
        for stage, ok, evaluated, failed, seconds, page, runs, total in gates:
            timing = f"{seconds:.1f} s" if seconds is not None else "-"
            spent = f", {runs} runs {total:.1f} s in all" if total is not None else f", {runs} runs"
            lines.append(f"  {stage:6} {'passed' if ok else 'FAILED':7} {evaluated - failed}/{evaluated} expectations,"
                         f" {timing}{spent}  {page or ''}")  # fmt: skip
        if not gates:
            lines.append("  none")

        period = conn.execute(
            "SELECT evaluation_period FROM marts.fct_industry_credit_grades ORDER BY period_end_date DESC LIMIT 1"
        ).fetchone()
        if period:
            lines.append(f"\nSubjects per grade class and industry, {period[0]}:")
            lines.append(f"  {'industry':24}" + "".join(f" {c:>6}" for c in CLASSES) + f" {'thin data':>9}  name")
            for ind, name, *counts, thin in conn.execute(
                sql.SQL("""SELECT i.industry_code, i.industry_name, {per_class},
                          count(*) FILTER (WHERE NOT has_sufficient_data)
                     FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i USING (industry_code)
                    WHERE evaluation_period = %s GROUP BY 1, 2 ORDER BY 1""").format(
                    per_class=_per_class("count(*) FILTER (WHERE grade_class = {})")),
                period,
            ):
                lines.append(f"  {ind:<24}" + "".join(f" {n:>6}" for n in counts) + f" {thin:>9}  {name}")

        lines.append("\nEvaluation periods:")
        for period_name, state, late, changes in conn.execute(
            """SELECT g.evaluation_period,
                      coalesce((SELECT c.action || ' ' || to_char(c.cutoff_at, 'YYYY-MM-DD HH24:MI') || ' by '
                                       || c.requested_by FROM ops.period_closures c
                                 WHERE c.evaluation_period = g.evaluation_period
                                 ORDER BY c.recorded_at DESC LIMIT 1), 'open'),
                      (SELECT count(*) FROM marts.fct_late_records l WHERE l.evaluation_period = g.evaluation_period),
                      (SELECT count(*) FROM marts.fct_grade_changes x WHERE x.to_period = g.evaluation_period)
                 FROM (SELECT DISTINCT evaluation_period FROM marts.fct_industry_credit_grades) g ORDER BY 1"""
        ):
            lines.append(f"  {period_name:10} {state:40} {late:>6} late records  {changes:>6} class changes")

        pubs = conn.execute(
            """SELECT platform, min(disclosure_level), count(*) FILTER (WHERE status = 'acknowledged'),
                      count(*) FILTER (WHERE status <> 'acknowledged'), coalesce(sum(upserts), 0),
                      coalesce(sum(withdrawals), 0), max(acknowledged_at)
                 FROM ops.publications WHERE platform NOT LIKE 'department:%'
                GROUP BY platform ORDER BY platform"""
        ).fetchall()
        lines.append("\nPublished (batches acknowledged by each platform; ops.publications):")
        for platform, level, acked, open_, ups, wds, last in pubs:
            pending = f", {open_} waiting to be resent" if open_ else ""
            when = f"{last:%Y-%m-%d %H:%M}" if last else "never"
            lines.append(f"  {platform:10} {level:10} {acked:>3} batches {ups:>7} upserts {wds:>6} withdrawals"
                         f"  last {when}{pending}")  # fmt: skip
        if not pubs:
            lines.append("  none")
        books = conn.execute(
            "SELECT count(DISTINCT platform), coalesce(sum(row_count), 0) FROM ops.publications"
            " WHERE platform LIKE 'department:%' AND dataset = 'grades' AND period = (SELECT max(period)"
            " FROM ops.publications WHERE platform LIKE 'department:%' AND dataset = 'grades')"
        ).fetchone()
        lines.append(f"  departments: {books[0]} workbooks, {books[1]} rows (outbox/departments/<code>/)")

        lines.append("\nInspection lists (double random draw), the latest round:")
        plans = conn.execute(
            sql.SQL("""WITH r AS (SELECT draw_round FROM ops.inspection_plans WHERE draw_round IS NOT NULL
                           ORDER BY created_at DESC LIMIT 1),
                    joint AS (SELECT task_id FROM ops.inspection_tasks GROUP BY task_id
                              HAVING count(DISTINCT department_code) > 1)
               SELECT p.draw_round, p.department_code, count(DISTINCT p.plan_id), count(DISTINCT t.uscc),
                      {per_class},
                      count(DISTINCT t.uscc) FILTER (WHERE t.selection = 'override'),
                      count(DISTINCT t.task_id) FILTER (WHERE t.task_id IN (SELECT task_id FROM joint)),
                      (SELECT count(*) FROM ops.inspection_population x
                        WHERE x.plan_id IN (SELECT plan_id FROM ops.inspection_plans q
                                             WHERE q.draw_round = p.draw_round
                                               AND q.department_code = p.department_code))
                 FROM ops.inspection_plans p LEFT JOIN ops.inspection_tasks t USING (plan_id)
                WHERE p.draw_round = (SELECT draw_round FROM r)
                GROUP BY p.draw_round, p.department_code ORDER BY p.department_code""").format(
                per_class=_per_class("count(DISTINCT t.uscc) FILTER (WHERE t.grade_class = {})"))
        ).fetchall()
        for rnd, dept, n_plans, drawn, *counts, forced, joint, population in plans:
            by_class = " ".join(f"{c}:{n}" for c, n in zip(CLASSES, counts, strict=True))
            lines.append(f"  {rnd} {dept:6} {n_plans:>2} matters, {drawn:>5} subjects drawn ({by_class}"
                         f"; {forced} must-inspect, {joint} joint) of {population} eligible over the matters")
        if not plans:
            lines.append("  none")
        returned = conn.execute("SELECT count(*) FILTER (WHERE inspection_date IS NOT NULL), count(*)"
                                " FROM marts.fct_inspection_outcomes").fetchone()  # fmt: skip
    from credit_platform.inspection.lists import overdue

    late = overdue(libpq_url(url_for("analyst", base_url)))
    lines.append(f"  results returned for {returned[0]} of {returned[1]} tasks; {len(late)} past their publication"
                 " deadline (credit-platform overdue-results)")  # fmt: skip
    return "\n".join(lines)

"""The whole job end to end, as ``make demo`` runs it: data generated into the inbox, then each
DAG run in order with ``airflow dags test`` (real task runs against the warehouse), then a summary.
Each run's whole output is ``.local/run/dags-test-<dag>.log``; each task's part of it is also written
where the Airflow UI of ``make airflow`` reads that task's log (same ``AIRFLOW_HOME``).

Before the draw, the demo announces its round (the graded period) with a value that says it is a
demo, not a real lottery draw (``announce_demo_draw``): the draw refuses a round that was not
announced before its draw time.

Running it again is safe: the data is regenerated only when the seed or size changed (the loader
skips files it has loaded), grades are rebuilt, unchanged publications are not repeated, and
existing inspection plans and announcements are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import psycopg
from psycopg import sql

from credit_platform.grade_levels import CLASSES
from credit_platform.local import services
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, url_for

DAG_ORDER = ["ingest_province", "ingest_departments", "grade_industries", "draw_inspections", "publish_grades"]


#: Airflow's default ``[logging] log_filename_template`` (the local environment keeps it): where, under
#: ``[logging] base_log_folder``, the UI reads the log of a task's attempt.
LOG_FILENAME = "dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{map_part}attempt={attempt}.log"
_TASK_MARK = re.compile(r"\[DAG TEST\] (starting|end task) task_id=(\S+) map_index=(-?\d+)")
_TASK_RUN = re.compile(r"\[DAG TEST\] running task <TaskInstance: \S+ (\S+) \[")


@dataclass
class DagRun:
    dag_id: str
    seconds: float
    success: bool
    log: Path
    task_logs: list[Path] = field(default_factory=list)


def write_task_logs(dag_id: str, output: str, base_log_folder: Path) -> list[Path]:
    """Each task's lines of an ``airflow dags test`` run, written where the Airflow UI reads that task's
    log. ``dags test`` runs the tasks in its own process and prints their logs to its output only, so
    without this the UI lists the demo's runs with empty task logs. A task's lines run from its
    ``[DAG TEST] starting`` to its ``[DAG TEST] end``; a task started again in the run (a retry) is its
    next attempt."""
    written, attempts, current, lines, run_id = [], {}, None, [], None
    for line in output.splitlines(keepends=True):
        mark = _TASK_MARK.search(line)
        if mark and mark.group(1) == "starting":
            current, lines, run_id = (mark.group(2), int(mark.group(3))), [], None
        if current is None:
            continue
        lines.append(line)
        run = _TASK_RUN.search(line)
        if run and run_id is None:
            run_id = run.group(1)
        if mark and mark.group(1) == "end task" and (mark.group(2), int(mark.group(3))) == current:
            if run_id:
                attempts[current] = attempts.get(current, 0) + 1
                task_id, map_index = current
                path = base_log_folder / LOG_FILENAME.format(
                    dag_id=dag_id, run_id=run_id, task_id=task_id, attempt=attempts[current],
                    map_part=f"map_index={map_index}/" if map_index >= 0 else "")  # fmt: skip
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(lines), encoding="utf-8")
                written.append(path)
            current = None
    return written


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
    folder = env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER")
    task_logs = write_task_logs(dag_id, text, Path(folder)) if folder else []
    return DagRun(dag_id, time.monotonic() - t0, ok, log, task_logs)


def announce_demo_draw(base_url: str, *, draw_round: str | None = None):
    """Announce the demo's draw round (default: the latest graded period) a second ahead, with the
    source ``DEMO_SOURCE`` (演示数据，非真实开奖 / demo value, not a real lottery draw), record its
    demo value, and wait for the draw time. A round announced already is kept as it is (its demo
    value recorded if it has none yet). Returns the announcement, as the publisher reads it."""
    from credit_platform.inspection import announcements
    from credit_platform.inspection.draw import announcement
    from credit_platform.publish import latest_period

    url = libpq_url(url_for("publisher", base_url))
    with psycopg.connect(url) as conn:
        draw_round = draw_round or latest_period(conn)
        a = announcement(conn, draw_round)
        (now,) = conn.execute("SELECT now()").fetchone()
    if a is None:
        a = announcements.announce(url, draw_round, announcements.DEMO_SOURCE, now + dt.timedelta(seconds=1))
    if a.announced_value is None and a.value_source == announcements.DEMO_SOURCE:
        a = announcements.record_value(url, draw_round, announcements.demo_value(draw_round))
    with psycopg.connect(url) as conn:
        (now,) = conn.execute("SELECT now()").fetchone()
    if now <= a.draw_at:
        time.sleep((a.draw_at - now).total_seconds() + 0.05)
    return a


def run_chain(env: dict, *, log_dir: Path | None = None, dags: list[str] | None = None,
              on_done=None, unpause: tuple[str, ...] = (), base_url: str | None = None) -> list[DagRun]:  # fmt: skip
    """Each DAG of ``dags`` (default: the whole chain) in order, stopping at the first that fails.
    The DAGs named in ``unpause`` are unpaused first, so that asset events queue runs of them.
    Before ``draw_inspections`` the demo round is announced (``announce_demo_draw``) in the
    warehouse at ``base_url`` (default ``env['WAREHOUSE_URL']``, else the administrator URL)."""
    from credit_platform.warehouse.urls import admin_url

    log_dir = log_dir or paths().run
    prepare_airflow(env)
    for dag_id in unpause:
        services.run_airflow(["dags", "unpause", dag_id], env, check=True)
    runs = []
    for dag_id in dags or DAG_ORDER:
        if dag_id == "draw_inspections":
            announce_demo_draw(base_url or env.get("WAREHOUSE_URL") or admin_url())
        run = run_dag(dag_id, env, log_dir)
        runs.append(run)
        if on_done:
            on_done(run)
        if not run.success:
            break
    return runs


def _query(name: str) -> str:
    """One query of the summary: ``summary/<name>.sql`` beside this module (packaged with it)."""
    return (files(__package__) / "summary" / f"{name}.sql").read_text(encoding="utf-8")


def _per_class(template: str) -> sql.Composed:
    """``template`` (one ``{}`` for the class) once per grade class of seed grade_levels, joined by commas."""
    return sql.SQL(", ").join(sql.SQL(template).format(sql.Literal(c)) for c in CLASSES)


def summary(base_url: str) -> str:
    """What the chain did, read as the analyst role (the queries are in ``summary/*.sql``)."""
    lines = []
    with psycopg.connect(libpq_url(url_for("analyst", base_url))) as conn:
        lines.append("Loaded per source (all batches):")
        lines.append(f"  {'source':22} {'files':>5} {'rows in':>9} {'loaded':>9} {'rejected':>9}  failed  duplicates"
                     "  quarantined")  # fmt: skip
        for src, loaded, rin, rl, rr, failed, dups, quarantined in conn.execute(_query("loads_per_source")):
            lines.append(f"  {src:22} {loaded:>5} {rin or 0:>9} {rl or 0:>9} {rr or 0:>9}  {failed:>6}  {dups:>10}"
                         f"  {quarantined:>11}")  # fmt: skip
        for batch_id, file, reason in conn.execute(_query("loads_quarantined")):
            lines.append(f"  quarantined batch {batch_id} {file}: {(reason or '')[:160]}")
        for batch_id, file, error in conn.execute(_query("loads_not_gated")):
            why = f": {error[:160]}" if error else ""
            lines.append(f"  batch {batch_id} {file} not gated yet, not graded (the next load gates it){why}")
        reasons = conn.execute(_query("loads_rejected_by_reason")).fetchall()
        if reasons:
            lines.append("  rejected by reason: " + ", ".join(f"{r} {n}" for r, n in reasons))
        outbox = paths().outbox
        receipts = len(list(outbox.glob("departments/*/回执_*.xlsx")))
        lines.append(f"  receipts (回执) the departments find, one per file loaded: {receipts} in"
                     f" {outbox}/departments/<code>/")  # fmt: skip

        lines.append("\nQuality gates (Great Expectations; latest run per stage, Data Docs under make docs):")
        gates = conn.execute(_query("quality_gates")).fetchall()
        for stage, ok, evaluated, failed, seconds, page, runs, total in gates:
            timing = f"{seconds:.1f} s" if seconds is not None else "-"
            spent = f", {runs} runs {total:.1f} s in all" if total is not None else f", {runs} runs"
            lines.append(f"  {stage:6} {'passed' if ok else 'FAILED':7} {evaluated - failed}/{evaluated} expectations,"
                         f" {timing}{spent}  {page or ''}")  # fmt: skip
        if not gates:
            lines.append("  none")

        period = conn.execute(_query("grades_latest_period")).fetchone()
        if period:
            lines.append(f"\nSubjects per grade class and industry, {period[0]}:")
            lines.append(f"  {'industry':24}" + "".join(f" {c:>6}" for c in CLASSES) + f" {'thin data':>9}  name")
            per_class = _per_class("count(*) FILTER (WHERE grade_class = {})")
            for ind, name, *counts, thin in conn.execute(sql.SQL(_query("grades_per_class")).format(
                    per_class=per_class), {"evaluation_period": period[0]}):  # fmt: skip
                lines.append(f"  {ind:<24}" + "".join(f" {n:>6}" for n in counts) + f" {thin:>9}  {name}")

        measures = conn.execute(_query("measures_in_force")).fetchall()
        lines.append("\nSupervision measures in force today (分级分类监管措施; marts.fct_subject_measures):")
        lines.append(f"  {'department':10} {'subjects':>8} {'incentive':>9} {'normal':>7} {'restrictive':>11}"
                     f" {'disciplinary':>12} {'to record':>9}")  # fmt: skip
        for dept, subjects, incentive, normal, restrictive, disciplinary, to_record in measures:
            lines.append(f"  {dept:10} {subjects:>8} {incentive:>9} {normal:>7} {restrictive:>11} {disciplinary:>12}"
                         f" {to_record:>9}")  # fmt: skip
        if not measures:
            lines.append("  none")
        executions = conn.execute(_query("measure_execution")).fetchall()
        lines.append("\nMeasures to record as applied (信用监管执行情况; marts.fct_measure_execution):")
        lines.append(f"  {'department':10} {'to record':>9} {'on time':>7} {'late':>5} {'overdue':>7} {'due':>6}"
                     f" {'next deadline':>13} {'records rejected':>16}")  # fmt: skip
        for dept, to_record, on_time, late, overdue, due, deadline, rejected in executions:
            lines.append(f"  {dept:10} {to_record:>9} {on_time:>7} {late:>5} {overdue:>7} {due:>6}"
                         f" {str(deadline or '-'):>13} {rejected:>16}")  # fmt: skip
        if not executions:
            lines.append("  none")
        commitments = conn.execute(_query("commitments")).fetchall()
        lines.append("\nCredit commitments (信用承诺; ops.commitment_letters, marts.fct_commitments):")
        lines.append(f"  {'department':10} {'letters':>7} {'signed':>6} {'consenting':>10}  {'commitments':>11}"
                     f" {'consented':>9} {'on platforms':>12}")  # fmt: skip
        for dept, letters, signed, consenting, total, consented, held in commitments:
            lines.append(f"  {dept:10} {letters:>7} {signed:>6} {consenting:>10}  {total:>11} {consented:>9}"
                         f" {held:>12}")  # fmt: skip
        if not commitments:
            lines.append("  none")
        cases = conn.execute(_query("cases")).fetchall()
        lines.append("\nObjections and repair applications (异议、信用修复申请; marts.fct_objections,"
                     " marts.fct_repair_applications):")
        lines.append(f"  {'department':10} {'kind':9} {'cases':>5} {'received':>8} {'in review':>9} {'refused':>7}"
                     f" {'upheld':>6} {'rejected':>8} {'answered':>8} {'overdue':>7} {'letters':>7}")  # fmt: skip
        for dept, kind, total, received, review, refused, upheld, rejected, answered, overdue, letters in cases:
            lines.append(f"  {dept:10} {kind:9} {total:>5} {received:>8} {review:>9} {refused:>7} {upheld:>6}"
                         f" {rejected:>8} {answered:>8} {overdue:>7} {letters:>7}")  # fmt: skip
        if not cases:
            lines.append("  none")
        from credit_platform.publish import config as publication
        from credit_platform.warehouse.roles import recipient_role_name

        programmes = publication.load().programmes.values()
        lines.append("\n信用+ lists (联合激励; the partner's list as it holds it, ops.publication_state):")
        lines.append(f"  {'programme':12} {'authorising':>11} {'listed':>6} {'subjects':>8}  partner")
        for prog in programmes:
            authorising, listed, subjects = conn.execute(
                _query("credit_plus"), {"role": recipient_role_name(prog.recipient), "platform": prog.platform}
            ).fetchone()
            lines.append(f"  {prog.name:12} {authorising:>11} {listed:>6} {subjects:>8}  {prog.partner} ({prog.title},"
                         f" classes {'/'.join(prog.classes)})")  # fmt: skip
        if not programmes:
            lines.append("  none")

        lines.append("\nEvaluation periods:")
        for period_name, state, late, changes in conn.execute(_query("evaluation_periods")):
            lines.append(f"  {period_name:10} {state:40} {late:>6} late records  {changes:>6} class changes")

        pubs = conn.execute(_query("publications_per_platform")).fetchall()
        lines.append("\nPublished (batches acknowledged by each platform; ops.publications):")
        for platform, level, acked, open_, ups, wds, last in pubs:
            pending = f", {open_} waiting to be resent" if open_ else ""
            when = f"{last:%Y-%m-%d %H:%M}" if last else "never"
            lines.append(f"  {platform:13} {level:10} {acked:>3} batches {ups:>7} upserts {wds:>6} withdrawals"
                         f"  last {when}{pending}")  # fmt: skip
        if not pubs:
            lines.append("  none")
        books = conn.execute(_query("publications_department_workbooks")).fetchone()
        lines.append(f"  departments: {books[0]} workbooks, {books[1]} rows (outbox/departments/<code>/)")

        lines.append("\nInspection lists (double random draw), the latest round:")
        announced = conn.execute(_query("inspection_announcement")).fetchone()
        if announced:
            rnd, source, draw_at, at, value, recorded, versions, public = announced
            lines.append(f"  {rnd} announced {at:%Y-%m-%d %H:%M:%S %Z} to be drawn {draw_at:%Y-%m-%d %H:%M:%S %Z}"
                         f" ({versions}); value source: {source}")  # fmt: skip
            lines.append(f"  value {value!r} recorded {recorded:%Y-%m-%d %H:%M:%S %Z}; {public} public plans,"
                         f" each with its verification kit in outbox/inspections/{rnd}/" if value else
                         "  value not recorded yet (credit-platform record-draw-value)")  # fmt: skip
        per_class = _per_class("count(DISTINCT t.uscc) FILTER (WHERE t.grade_class = {})")
        plans = conn.execute(sql.SQL(_query("inspection_round")).format(per_class=per_class)).fetchall()
        for rnd, dept, n_plans, drawn, *counts, forced, joint, population in plans:
            by_class = " ".join(f"{c}:{n}" for c, n in zip(CLASSES, counts, strict=True))
            lines.append(f"  {rnd} {dept:6} {n_plans:>2} matters, {drawn:>5} subjects drawn ({by_class}"
                         f"; {forced} must-inspect, {joint} joint) of {population} eligible over the matters")
        if not plans:
            lines.append("  none")
        returned = conn.execute(_query("inspection_results_returned")).fetchone()
    from credit_platform.inspection.lists import overdue

    late = overdue(libpq_url(url_for("analyst", base_url)))
    lines.append(f"  results returned for {returned[0]} of {returned[1]} tasks; {len(late)} past their publication"
                 " deadline (credit-platform overdue-results)")  # fmt: skip
    return "\n".join(lines)

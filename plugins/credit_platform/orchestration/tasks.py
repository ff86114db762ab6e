"""Helpers for code that runs inside Airflow tasks. Import only inside task functions."""

from __future__ import annotations

import logging

from credit_platform.warehouse.roles import role
from credit_platform.warehouse.urls import libpq_url

log = logging.getLogger(__name__)


def warehouse_url(component: str) -> str:
    """The URL of the Airflow connection ``warehouse_<component>`` (e.g. ``warehouse_loader``)."""
    from airflow.sdk import Connection

    conn = Connection.get(role(component).airflow_conn_id)
    return libpq_url(conn.get_uri())


def report_to_outlets(figures: dict) -> dict:
    """Put the run's ``figures`` on the events the current task emits on its outlet assets (what the
    UI's asset view shows for each event); returns them."""
    import json

    from airflow.sdk import get_current_context

    context = get_current_context()
    plain = json.loads(json.dumps(figures, default=str))
    for outlet in context["task"].outlets:
        context["outlet_events"][outlet].extra.update(plain)
    return figures


def skip_unless_loaded(results: list[dict], *, prefix: str) -> dict:
    """Summarise this run's loads of the inbox folder ``prefix``; skip when nothing new may be graded.

    The batches are read from ``ops.load_batches`` (those started, or gated, since this DAG run
    began: a batch an earlier run left ``landed`` is gated by this one), not only from the tasks'
    results: a task that failed (a quarantined file beside good ones) returns none, yet its good
    batches must still reach grading. Skipping emits no asset event.
    """
    import psycopg
    from airflow.exceptions import AirflowSkipException
    from airflow.sdk import get_current_context

    started = get_current_context()["dag_run"].start_date
    with psycopg.connect(warehouse_url("loader")) as conn:
        batches = conn.execute(
            "SELECT batch_id, status, rows_in, rows_loaded, rows_rejected FROM ops.load_batches"
            " WHERE (started_at >= %s OR gated_at >= %s) AND source_file LIKE %s",
            (started, started, prefix.replace("%", r"\%").replace("_", r"\_") + "/%"),
        ).fetchall()  # fmt: skip
    seen = {b[0] for b in batches}
    loaded = [b for b in batches if b[1] == "loaded"]
    loaded += [(r["batch_id"], r["status"], r["rows_in"], r["rows_loaded"], r["rows_rejected"])
               for r in results if r["status"] == "loaded" and r["batch_id"] not in seen]  # fmt: skip
    summary = {
        "files": len(seen | {r["batch_id"] for r in results}),
        "loaded_files": len(loaded),
        "quarantined_files": sum(1 for b in batches if b[1] == "quarantined"),
        "rows_in": sum(b[2] for b in loaded),
        "rows_loaded": sum(b[3] for b in loaded),
        "rows_rejected": sum(b[4] for b in loaded),
        **inbox_findings(prefix),
    }
    if not loaded:
        raise AirflowSkipException(f"nothing new was loaded ({summary})")
    return report_to_outlets(summary)


def inbox_findings(prefix: str) -> dict:
    """Counts of what the inbox folder holds that is not loaded: stray files no source claims, hidden or
    temporary files, refused paths (each is logged, with its reason, by the discovery task)."""
    from credit_platform.ingest.inbox import scan, scan_elsewhere
    from credit_platform.settings import paths

    here, elsewhere = scan(paths().inbox, prefix=prefix).counts(), scan_elsewhere(paths().inbox).counts()
    return {k: here[k] + elsewhere[k] for k in here}


def fail_if_quarantined(load):
    """Run ``load()``; a quarantined batch fails the task at once (a retry cannot fix the file)."""
    from airflow.sdk.exceptions import AirflowFailException

    from credit_platform.ingest.loader import Quarantined

    try:
        result = load()
    except Quarantined as exc:
        raise AirflowFailException(str(exc)) from exc
    if getattr(result, "status", None) == "quarantined":
        raise AirflowFailException(result.quarantine_reason)
    return result


def load_department_files(department_code: str) -> list[dict]:
    """Load the department's pending files, then write a receipt (回执) for each batch, whatever became of it."""
    from credit_platform.ingest.loader import load_department
    from credit_platform.receipts.write import last_batch, write_since_logged
    from credit_platform.settings import paths

    url = warehouse_url("loader")
    after = last_batch(url)
    try:
        results = fail_if_quarantined(lambda: load_department(url, department_code, only_pending=True))
    finally:  # a quarantined or unreadable file is told too
        write_since_logged(url, after, paths().outbox, department=department_code)
    return [r.as_dict() for r in results]


def pull_from_portal() -> dict:
    """Pull new province results from the credit portal, when the connection ``credit_portal`` exists."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from credit_platform.ingest.pull import CONN_ID, portal_from_connection, pull_province

    try:
        conn = Connection.get(CONN_ID)
    except AirflowNotFoundException:
        return {"pulled": False, "reason": f"no Airflow connection {CONN_ID!r}: province results arrive as files"}
    return {"pulled": True, **pull_province(warehouse_url("loader"), portal_from_connection(conn))}


def prepare_publication() -> dict:
    """The prepare task: gates, the ``publish`` schema rebuilt, the publication checkpoint."""
    from airflow.sdk.exceptions import AirflowFailException

    from credit_platform.publish import PublicationBlocked, run

    try:
        report = run.prepare(warehouse_url("publisher"))
    except PublicationBlocked as exc:  # a deliberate stop: retrying cannot help
        raise AirflowFailException(f"PublicationBlocked: {exc}") from exc
    return {"as_of": report.as_of.isoformat(), "rows": report.rows, "seconds": round(report.seconds, 1),
            "validation_run_id": report.validation_run_id,
            "withheld": [f"{ds} {key}: {cols}" for ds, key, cols in report.withheld]}  # fmt: skip


def publication_platforms() -> list[str]:
    """The platforms of ``publication.yml``, one send task each."""
    from credit_platform.publish import config

    return list(config.load().platforms)


def send_to_platform(platform: str) -> dict:
    """A send task: one platform, with the HTTP endpoint of its Airflow connection."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    from credit_platform.publish import PublicationBlocked, config, run
    from credit_platform.publish.transport import endpoint_from_connection

    cfg = config.load()
    endpoints = {}
    p = cfg.platforms.get(platform)
    if p is not None and p.transport == "http":
        try:
            endpoints[p.name] = endpoint_from_connection(Connection.get(p.connection))
        except AirflowNotFoundException:
            log.error("platform %s: no Airflow connection %r; its batches wait", p.name, p.connection)
    try:
        report = run.send(warehouse_url("publisher"), config=cfg, endpoints=endpoints, platforms=[platform])
    except PublicationBlocked as exc:
        raise AirflowFailException(f"PublicationBlocked: {exc}") from exc
    sent = {"batches": 0, "upserts": 0, "withdrawals": 0, "resent": 0}
    for b in report.batches:
        sent["batches"] += 1
        sent["upserts"] += b.upserts
        sent["withdrawals"] += b.withdrawals
        sent["resent"] += b.resent
    return report_to_outlets({"platform": platform, "seconds": round(report.seconds, 1), **sent})


def department_workbooks() -> list[dict]:
    from credit_platform.publish import workbooks
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url

    out = workbooks.write(libpq_url(warehouse_url("publisher")), paths().outbox)
    for wb in out:
        log.info("department %s: %d rows %s (%s)", wb.department_code, wb.rows, wb.status, wb.path)
    return [{"department": wb.department_code, "rows": wb.rows, "status": wb.status, "path": str(wb.path)}
            for wb in out]  # fmt: skip


def draw_inspection_plans(params: dict) -> dict:
    """The draw task: every department's plans of the round, from the latest graded period, with the
    value announced for the round in ``ops.draw_announcements`` (refused without one); then each
    public plan's verification kit in ``$CREDIT_OUTBOX/inspections/<round>/``."""
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException

    from credit_platform.inspection import kits
    from credit_platform.inspection.draw import DrawError, draw
    from credit_platform.publish import latest_period
    from credit_platform.settings import paths

    url = warehouse_url("publisher")
    with psycopg.connect(url) as conn:
        period = latest_period(conn)
    draw_round = params.get("draw_round") or period
    try:
        results = draw(url, period, draw_round=draw_round)
    except DrawError as exc:  # no announcement, configuration or roster: retrying cannot help
        raise AirflowFailException(f"DrawError: {exc}") from exc
    for r in results:
        log.info("%s: %s, population %s, sizes %s, drawn %s, overrides %d, capped %d, %d subjects",
                 r.plan_id, r.status, r.population, r.sample_sizes, r.drawn, r.overrides, r.capped, r.tasks)
    written = kits.write(url, paths().outbox, draw_round)
    for k in written:
        log.info("verification kit of %s %s: %s (%d masked entries)", k.plan_id, k.status, k.path, k.masked)
    return report_to_outlets({"period": period, "round": draw_round, "plans": len(results),
                              "drawn": sum(r.status == "drawn" for r in results),
                              "subjects": sum(r.tasks for r in results if r.status == "drawn"),
                              "kits": len(written)})  # fmt: skip


def inspection_lists() -> list[dict]:
    """The lists task: each department's task list and result-return form for the latest round."""
    from credit_platform.inspection import lists as inspection_lists
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url

    out = inspection_lists.write(libpq_url(warehouse_url("publisher")), paths().outbox)
    for li in out:
        log.info("department %s: %d tasks %s (%s, %s)", li.department_code, li.tasks, li.status, li.list_path,
                 li.form_path)  # fmt: skip
    return [{"department": li.department_code, "tasks": li.tasks, "status": li.status} for li in out]


def cases_due() -> dict:
    """Objections (异议) and repair applications (信用修复申请) not answered by their reply deadline,
    listed in the log for the data team (a warning, not a failure)."""
    from credit_platform.redress import cases
    from credit_platform.warehouse.urls import libpq_url

    url = libpq_url(warehouse_url("analyst"))
    out = {}
    for kind, number in (("objection", "objection_number"), ("repair", "application_number")):
        late = cases.listing(url, kind, overdue=True)
        for c in late:
            log.warning("overdue %s: %s %s (%s %s) received %s, %s, answer due %s", kind, c["department_code"],
                        c[number], c["uscc"], c["subject_name"] or "", c["received_date"], c["state"],
                        c["reply_deadline"])  # fmt: skip
        log.info("%d %s(s) not answered by their reply deadline", len(late), kind)
        out[kind] = len(late)
    return {"overdue_objections": out["objection"], "overdue_repairs": out["repair"]}


def explanation_letters() -> dict:
    """信用评价说明书 for every subject whose class changed from the previous period, into each
    department's outbox folder (HTML; ``credit-platform letter USCC`` writes any one as PDF too), not
    again for a letter already written. Reads as the transformer (the records behind the points are
    raw rows) and logs each letter as the publisher."""
    from credit_platform.redress import letters
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url

    targets = letters.changed_subjects(libpq_url(warehouse_url("analyst")))
    done = letters.write_many(libpq_url(warehouse_url("transformer")), libpq_url(warehouse_url("publisher")), targets,
                              paths().outbox, pdf=False, skip_written=True)  # fmt: skip
    log.info("%d explanation letters written (%d already written) for %d class changes, in %s", done.letters,
             done.skipped, len(targets), ", ".join(sorted(done.folders)) or "-")  # fmt: skip
    return {"letters": done.letters, "already_written": done.skipped, "class_changes": len(targets)}


def validate_grades() -> dict:
    """The marts checkpoint, then the drift gate; the event on the grades asset carries the period's
    grades per class and each industry's PSI."""
    from airflow.sdk.exceptions import AirflowFailException

    from credit_platform.quality.checkpoints import ValidationFailed, run_checkpoint
    from credit_platform.quality.drift import check_drift

    url = warehouse_url("publisher")
    try:
        outcome = run_checkpoint(url, "marts")
    except ValidationFailed as exc:  # bad data: retrying cannot help, and nothing downstream runs
        raise AirflowFailException(f"ValidationFailed: {exc}") from exc
    drift = check_drift(url)  # a drifted period is held back by publication until it is released
    per_class: dict[str, int] = {}
    for industry in drift.industries:
        for grade_class, n in industry["now"].items():
            per_class[grade_class] = per_class.get(grade_class, 0) + n
    return report_to_outlets({
        "evaluated": outcome.evaluated, "success": outcome.success, "period": drift.period,
        "grades": sum(per_class.values()), "grades_per_class": dict(sorted(per_class.items())),
        "psi": {i["industry_code"]: i["psi"] for i in drift.industries}, "drift_ok": drift.success,
        "drift": drift.message(),
    })  # fmt: skip


def overdue_digest() -> dict:
    """The day's digest of overdue results, objections and measures, sent to the data team."""
    from credit_platform.alerts.digest import send_digest

    out = send_digest(libpq_url(warehouse_url("analyst")))
    log.info("%d item(s) overdue; digest sent to: %s", out["overdue"], ", ".join(out["sent_to"]) or "nobody"
             " (nothing overdue, or no channel configured: CREDIT_ALERT_CHANNELS)")  # fmt: skip
    return out


def results_due() -> dict:
    """一公开: results past their publication deadline, listed in the log (a warning, not a failure)."""
    from credit_platform.inspection import lists as inspection_lists
    from credit_platform.warehouse.urls import libpq_url

    late = inspection_lists.overdue(libpq_url(warehouse_url("analyst")))
    for o in late:
        log.warning("overdue: %s task %s (%s %s) inspected %s, due %s, %d working day(s) late", o.department_code,
                    o.task_id, o.uscc, o.subject_name, o.inspection_date, o.deadline, o.workdays_late)  # fmt: skip
    log.info("%d inspection result(s) past their publication deadline", len(late))
    return {"overdue": len(late)}

"""What a department's clerk receives after a draw: the task list and the result-return form.

Per department and round, in ``$CREDIT_OUTBOX/departments/<code>/``:

* ``inspection_list_<round>_<code>.xlsx`` (抽查任务清单): one row per task and matter, with the
  subject, its grade class, why it was drawn (随机抽取 or 必检 and the reason), the two inspectors
  and the other departments of a joint inspection; ready to print;
* ``inspection_results_<round>_<code>.xlsx`` (抽查结果反馈表): the same tasks keyed by 任务编号,
  with the matter's name beside its code, 检查日期 (a date cell) and 检查结果 (a drop-down of the four
  results that refuses anything else) to fill in. Its name and headers are those of the
  ``inspection_result`` source, so the filled form goes back into the inbox under
  ``departments/<code>/`` and the ingest reads it like any department file. It may come back in
  parts: a row whose date, result and remarks are all blank is *not yet returned* (counted and
  listed in the department's receipt, neither loaded nor rejected), and the same form sent again
  later with more rows filled in loads those (a result is one record per task, matter and subject,
  so the rows returned before count once).

Sheet names, titles and column headers come from publication.yml (``workbooks``; the form's
headers from the ``inspection_result`` source of sources.yml). Both are written as the grade
workbooks are (``publish.workbooks``): text cells that no spreadsheet evaluates, a manifest beside
each file, rewritten only when their content changed, recorded in ``ops.publications`` as platform
``department:<code>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform.publish import workbooks

REASONS = {"serious_dishonesty": "必检: 严重失信主体名单", "open_complaint": "必检: 投诉举报办理中"}


def form_columns() -> tuple[tuple[str, str, int, str], ...]:
    """The result form's (column, header, width, kind): every column of the ``inspection_result``
    source, headed as sources.yml first spells it, so that the ingest reads the filled form
    (publication.yml ``workbooks.inspection_form``)."""
    from credit_platform.publish.config import load

    return load().workbooks["inspection_form"].columns


def results() -> list[str]:
    """The results the ``inspection_result`` source accepts (the form's drop-down)."""
    from credit_platform.ingest.config import sources

    return list(next(c.values for c in sources()["inspection_result"].columns if c.name == "result"))


_TASKS = """
WITH joint AS (
    SELECT t.task_id, string_agg(DISTINCT d.department_name, '、') AS departments,
           count(DISTINCT t.department_code) AS n
      FROM ops.inspection_tasks t
      JOIN ops.inspection_plans p USING (plan_id)
      JOIN (SELECT DISTINCT department_code, department_name FROM marts.dim_industries) d
        ON d.department_code = t.department_code
     WHERE p.draw_round = %(round)s
     GROUP BY t.task_id
)
SELECT t.department_code, t.task_id, t.matter_code, coalesce(m.matter_name, ''), t.uscc,
       coalesce(s.subject_name, ''), coalesce(i.industry_name, t.industry_code), t.grade_class,
       t.selection, t.override_reason,
       (SELECT string_agg(coalesce(r.inspector_name, '') || '(' || x.id || ')', '、' ORDER BY x.id)
          FROM unnest(t.inspector_ids) AS x(id)
          LEFT JOIN marts.dim_inspectors r ON r.department_code = t.department_code AND r.inspector_id = x.id),
       CASE WHEN j.n > 1 THEN j.departments ELSE '' END, p.drawn_on
  FROM ops.inspection_tasks t
  JOIN ops.inspection_plans p USING (plan_id)
  LEFT JOIN marts.dim_inspection_matters m ON m.department_code = t.department_code AND m.matter_code = t.matter_code
  LEFT JOIN marts.dim_subjects s ON s.uscc = t.uscc
  LEFT JOIN marts.dim_industries i ON i.industry_code = t.industry_code
  LEFT JOIN joint j ON j.task_id = t.task_id
 WHERE p.draw_round = %(round)s
 ORDER BY t.department_code, t.task_id, t.matter_code
"""


@dataclass
class Lists:
    department_code: str
    draw_round: str
    tasks: int
    list_path: Path
    form_path: Path
    status: str  # written, unchanged


def latest_round(conn) -> str | None:
    row = conn.execute("SELECT draw_round FROM ops.inspection_plans WHERE draw_round IS NOT NULL"
                       " ORDER BY created_at DESC, draw_round DESC LIMIT 1").fetchone()  # fmt: skip
    return row[0] if row else None


def write(url: str, outbox: Path, draw_round: str | None = None) -> list[Lists]:
    """Write every department's task list and result form for the round (default: the latest
    drawn), as the publisher at ``url``."""
    with psycopg.connect(url) as conn:
        draw_round = draw_round or latest_round(conn)
        if draw_round is None:
            return []
        by_department: dict[str, list[tuple]] = {}
        for dept, *row in conn.execute(_TASKS, {"round": draw_round}):
            by_department.setdefault(dept, []).append(tuple(row))
        out = []
        for dept, rows in sorted(by_department.items()):
            out.append(_department(conn, outbox, dept, draw_round, rows))
        conn.commit()
    return out


def _department(conn, outbox: Path, dept: str, draw_round: str, rows: list[tuple]) -> Lists:
    listed, form = [], []
    for task_id, matter, matter_name, uscc, name, industry, cls, selection, reason, inspectors, joint, drawn in rows:
        how = REASONS.get(reason, reason) if selection == "override" else "随机抽取"
        listed.append((task_id, matter, matter_name, uscc, name, industry, cls, how, inspectors, joint, drawn))
        known = {"task_id": task_id, "uscc": uscc, "subject_name": name, "matter_code": matter,
                 "matter_name": matter_name, "inspectors": inspectors}  # fmt: skip
        form.append(tuple(known.get(c, "") for c, *_ in form_columns()))
    tag = f"{draw_round}_{dept}"
    a = workbooks.deliver(conn, outbox, dept, "inspection_list", draw_round, f"inspection_list_{tag}.xlsx", listed,
                          lambda r: workbooks.render(r, period=draw_round, workbook="inspection_list"))  # fmt: skip
    b = workbooks.deliver(conn, outbox, dept, "inspection_form", draw_round, f"inspection_results_{tag}.xlsx", form,
                          lambda r: workbooks.render(r, period=draw_round, workbook="inspection_form",
                                                     choices={"result": results()}))  # fmt: skip
    status = "unchanged" if a.status == b.status == "unchanged" else "written"
    return Lists(dept, draw_round, len({r[0] for r in rows}), a.path, b.path, status)


# --- 一公开: results published within the deadline --------------------------------------------

#: The platform whose acknowledgement counts as publication of a result (信用怀仁).
RESULTS_PLATFORM = "city"


@dataclass
class Overdue:
    department_code: str
    task_id: str
    plan_id: str
    uscc: str
    subject_name: str
    inspection_date: dt.date
    deadline: dt.date
    workdays_late: int


def overdue(url: str, today: dt.date | None = None) -> list[Overdue]:
    """Results returned for public plans that the results platform has not acknowledged (since the
    result arrived) although their deadline, ``results_deadline_workdays`` working days after the
    inspection, has passed. Read as the analyst at ``url``. Plans of departments that disclose
    them only internally have no publication deadline."""
    from credit_platform.workdays import add_workdays, workdays_between

    today = today or dt.date.today()
    out = []
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT o.department_code, o.task_id, o.plan_id, o.uscc, coalesce(o.subject_name, ''),"
            "       o.inspection_date, o.results_deadline_workdays"
            "  FROM marts.fct_inspection_outcomes o"
            "  LEFT JOIN ops.load_batches b ON b.batch_id = o.result_batch_id"
            "  LEFT JOIN ops.publication_state s ON s.platform = %s AND s.dataset = 'inspections'"
            "       AND s.item_key = o.outcome_key"
            " WHERE o.inspection_date IS NOT NULL AND o.disclosure_level = 'public'"
            "   AND (s.acknowledged_at IS NULL OR s.acknowledged_at < coalesce(b.finished_at, b.started_at))"
            " ORDER BY o.inspection_date, o.department_code, o.task_id",
            (RESULTS_PLATFORM,),
        ).fetchall()
    for dept, task_id, plan_id, uscc, name, inspected, days in rows:
        deadline = add_workdays(inspected, int(days or 20))
        if today > deadline:
            out.append(Overdue(dept, task_id, plan_id, uscc, name, inspected, deadline,
                               workdays_between(deadline, today)))  # fmt: skip
    return out

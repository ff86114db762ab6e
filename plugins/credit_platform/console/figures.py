"""The figures of the supervision view, read from the warehouse as the read-only analyst role.

Every function takes an open psycopg connection and returns plain dicts and lists (what the JSON
API returns and the pages draw). Every query is parameterised; none writes. The warehouse's own
definitions are used as they are: a grade is a row of ``marts.fct_industry_credit_grades``, a
measure's status that of ``marts.fct_measure_execution``, an objection's that of
``marts.fct_objections``; the drift (PSI) is ``quality.drift.psi`` over the same class counts the
drift gate compares, and a period is held when ``quality.drift.blocked`` says so.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from credit_platform.grade_levels import CLASS_LABELS
from credit_platform.quality import drift

#: What the view calls a batch's status (ops.load_batches.status).
BATCH_STATUS = {"loaded": "已加载", "quarantined": "已隔离", "failed": "失败", "running": "加载中",
                "landed": "待校验", "duplicate": "重复"}  # fmt: skip
#: What decided a grade (marts.fct_industry_credit_grades.grade_basis), as the pages say it.
GRADE_BASIS = {"computed": "按得分评定", "adjusted": "人工调整", "objection_correction": "异议更正",
               "serious_dishonesty": "严重失信主体名单"}  # fmt: skip
#: How many of a department's latest files the loads panel lists.
LATEST_FILES = 5
#: How many subjects a department's page lists at most per page.
PAGE_SIZE = 50


class NotFound(LookupError):
    """A period, department or subject the warehouse does not know."""


def _rows(conn, sql: str, params: tuple | dict = ()) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _plain(v):
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "as_integer_ratio") and not isinstance(v, (int, float)):  # Decimal
        return float(v)
    return v


def plain(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in r.items()} for r in rows]


def periods(conn) -> list[dict]:
    """Every graded period, oldest first, with its dates."""
    return plain(_rows(conn, """
        SELECT p.evaluation_period, p.period_start_date, p.period_end_date
          FROM marts.dim_evaluation_periods AS p
         WHERE EXISTS (SELECT FROM marts.fct_industry_credit_grades AS g
                        WHERE g.evaluation_period = p.evaluation_period)
         ORDER BY p.period_end_date"""))


def resolve_period(conn, period: str | None) -> tuple[dict, dict | None]:
    """The period asked for (default: the latest graded) and the graded period before it, or None.
    The period gets ``received_until``: the first day of the next graded period, or None for the
    latest (its files are those received from its first day on)."""
    graded = periods(conn)
    if not graded:
        raise NotFound("no period is graded yet: run the grading (grade_industries) first / 尚无评价结果，请先运行评价")
    names = [p["evaluation_period"] for p in graded]
    if period is None:
        i = len(graded) - 1
    elif period in names:
        i = names.index(period)
    else:
        raise NotFound(f"period {period!r} is not graded; graded: {', '.join(names)} / 该评价期无结果")
    now = {**graded[i], "received_until": graded[i + 1]["period_start_date"] if i + 1 < len(graded) else None}
    return now, (graded[i - 1] if i else None)


def departments(conn) -> list[dict]:
    return plain(_rows(conn, "SELECT department_code, department_name FROM marts.dim_departments ORDER BY 1"))


def grade_distribution(conn, period: dict, previous: dict | None) -> dict:
    """Per industry: subjects per class now and in the previous graded period, the change, the PSI;
    and whether publication of the period is held by the drift gate."""
    names = [period["evaluation_period"]] + ([previous["evaluation_period"]] if previous else [])
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for r in _rows(conn, """
            SELECT evaluation_period, industry_code, grade_class, count(*) AS n
              FROM marts.fct_industry_credit_grades
             WHERE evaluation_period = ANY(%s)
             GROUP BY 1, 2, 3""", (names,)):  # fmt: skip
        counts[r["industry_code"]][r["evaluation_period"]][r["grade_class"]] = r["n"]
    classes = list(CLASS_LABELS)
    industries = []
    for ind in _rows(conn, """
            SELECT industry_code, industry_name, department_code, department_name
              FROM marts.dim_industries ORDER BY industry_code"""):  # fmt: skip
        now = counts[ind["industry_code"]].get(names[0], {})
        before = counts[ind["industry_code"]].get(names[1], {}) if previous else {}
        if not now and not before:
            continue
        entry = {**ind, "classes": {c: now.get(c, 0) for c in classes}, "total": sum(now.values())}
        if before:
            entry["previous"] = {c: before.get(c, 0) for c in classes}
            entry["change"] = {c: now.get(c, 0) - before.get(c, 0) for c in classes}
            entry["psi"] = round(drift.psi(now, before), 4) if now else None
        else:
            entry["previous"], entry["change"], entry["psi"] = None, None, None
        industries.append(entry)
    held = drift.blocked(conn, period["evaluation_period"])
    return {
        "classes": [{"grade_class": c, "label": CLASS_LABELS[c]} for c in classes],
        "industries": industries,
        "psi_threshold": drift.threshold(),
        "held": held is not None,
        "held_reason": held,
        "release_command": (f"credit-platform release {period['evaluation_period']} --reason \"…\" --by \"…\""
                            if held else None),  # fmt: skip
    }


def loads(conn, period: dict) -> dict:
    """Per department: the period's batches (those marked with the period, and those received from
    its first day until the next graded period began), its latest files (rows in, loaded, rejected,
    status); and the departments that sent nothing in the period."""
    window = {"p": period["evaluation_period"], "start": period["period_start_date"],
              "until": period["received_until"]}  # fmt: skip
    batches = _rows(conn, """
        SELECT b.department_code, b.batch_id, b.source, b.source_file, b.status, b.rows_in, b.rows_loaded,
               b.rows_rejected, b.quarantine_reason, b.started_at
          FROM (SELECT *, row_number() OVER (PARTITION BY department_code ORDER BY batch_id DESC) AS n
                  FROM ops.load_batches
                 WHERE department_code IS NOT NULL
                   AND (evaluation_period = %(p)s OR (started_at >= %(start)s::date
                        AND (%(until)s::date IS NULL OR started_at < %(until)s::date)))) AS b
         WHERE b.n <= %(latest)s
         ORDER BY b.department_code, b.batch_id DESC""", {**window, "latest": LATEST_FILES})  # fmt: skip
    totals = {r["department_code"]: r for r in _rows(conn, """
        SELECT department_code, count(*) AS batches, coalesce(sum(rows_in), 0) AS rows_in,
               coalesce(sum(rows_loaded), 0) AS rows_loaded, coalesce(sum(rows_rejected), 0) AS rows_rejected,
               count(*) FILTER (WHERE status = 'quarantined') AS quarantined
          FROM ops.load_batches
         WHERE department_code IS NOT NULL
           AND (evaluation_period = %(p)s OR (started_at >= %(start)s::date
                AND (%(until)s::date IS NULL OR started_at < %(until)s::date)))
         GROUP BY department_code""", window)}  # fmt: skip
    by_dept: dict[str, list[dict]] = defaultdict(list)
    for b in plain(batches):
        b["status_label"] = BATCH_STATUS.get(b["status"], b["status"])
        by_dept[b.pop("department_code")].append(b)
    out = []
    for d in departments(conn):
        code = d["department_code"]
        t = totals.get(code, {})
        out.append({**d, "sent_this_period": code in totals,
                    "batches": t.get("batches", 0), "rows_in": t.get("rows_in", 0),
                    "rows_loaded": t.get("rows_loaded", 0), "rows_rejected": t.get("rows_rejected", 0),
                    "quarantined": t.get("quarantined", 0), "latest_files": by_dept.get(code, [])})  # fmt: skip
    return {"departments": out, "silent": [d["department_code"] for d in out if not d["sent_this_period"]]}


def progress(conn, period: dict, department: str | None = None) -> list[dict]:
    """Each department's progress in the period (only ``department``'s when given): the share of its
    supervised subjects graded, its measures due / applied / overdue, its inspection plans and
    results, its objections."""
    p = {"p": period["evaluation_period"], "d": department}
    scope = {r["department_code"]: r for r in _rows(conn, """
        SELECT s.department_code, count(DISTINCT s.uscc) AS supervised,
               count(DISTINCT s.uscc) FILTER (WHERE g.uscc IS NOT NULL) AS graded
          FROM marts.fct_supervision_scopes AS s
          LEFT JOIN marts.fct_industry_credit_grades AS g
            ON g.uscc = s.uscc AND g.industry_code = s.industry_code AND g.evaluation_period = %(p)s
         WHERE NOT s.is_deregistered AND (%(d)s::text IS NULL OR s.department_code = %(d)s)
         GROUP BY 1""", p)}  # fmt: skip
    measures = {r["department_code"]: r for r in _rows(conn, """
        SELECT department_code,
               count(*) FILTER (WHERE status = 'due') AS measures_due,
               count(*) FILTER (WHERE status IN ('applied_on_time', 'applied_late')) AS measures_applied,
               count(*) FILTER (WHERE status = 'overdue') AS measures_overdue
          FROM marts.fct_measure_execution
         WHERE evaluation_period = %(p)s AND (%(d)s::text IS NULL OR department_code = %(d)s)
         GROUP BY 1""", p)}  # fmt: skip
    inspections = {r["department_code"]: r for r in _rows(conn, """
        SELECT o.department_code, count(DISTINCT o.plan_id) AS plans_drawn, count(*) AS inspection_tasks,
               count(*) FILTER (WHERE o.inspection_date IS NOT NULL) AS results_returned,
               count(*) FILTER (WHERE o.inspection_date IS NOT NULL AND EXISTS (
                   SELECT FROM ops.publication_state AS s
                    WHERE s.dataset = 'inspections' AND s.item_key = o.outcome_key)) AS results_published
          FROM marts.fct_inspection_outcomes AS o
          JOIN ops.inspection_plans AS pl ON pl.plan_id = o.plan_id
         WHERE pl.evaluation_period = %(p)s AND (%(d)s::text IS NULL OR o.department_code = %(d)s)
         GROUP BY 1""", p)}  # fmt: skip
    objections = {r["department_code"]: r for r in _rows(conn, """
        SELECT department_code,
               count(*) FILTER (WHERE answered_on IS NULL) AS objections_open,
               count(*) FILTER (WHERE is_overdue) AS objections_overdue
          FROM marts.fct_objections
         WHERE %(d)s::text IS NULL OR department_code = %(d)s
         GROUP BY 1""", p)}  # fmt: skip
    out = []
    for d in departments(conn):
        code = d["department_code"]
        if department is not None and code != department:
            continue
        s, m, i, o = scope.get(code, {}), measures.get(code, {}), inspections.get(code, {}), objections.get(code, {})
        supervised, graded = s.get("supervised", 0), s.get("graded", 0)
        out.append({
            **d, "supervised": supervised, "graded": graded,
            "graded_share": round(graded / supervised, 4) if supervised else None,
            "measures_due": m.get("measures_due", 0), "measures_applied": m.get("measures_applied", 0),
            "measures_overdue": m.get("measures_overdue", 0),
            "plans_drawn": i.get("plans_drawn", 0), "inspection_tasks": i.get("inspection_tasks", 0),
            "results_returned": i.get("results_returned", 0), "results_published": i.get("results_published", 0),
            "objections_open": o.get("objections_open", 0), "objections_overdue": o.get("objections_overdue", 0),
        })  # fmt: skip
    return out


def publications(conn) -> list[dict]:
    """Per sharing platform (the departments' workbooks apart): batches sent, acknowledged and
    waiting, items sent and withdrawn, items the platform holds now, the last acknowledgement."""
    return plain(_rows(conn, """
        WITH held AS (SELECT platform, count(*) AS items_held FROM ops.publication_state GROUP BY 1)
        SELECT p.platform, count(*) AS batches,
               count(*) FILTER (WHERE p.status = 'acknowledged') AS acknowledged,
               count(*) FILTER (WHERE p.status IN ('prepared', 'sent')) AS waiting,
               count(*) FILTER (WHERE p.status = 'failed') AS failed,
               coalesce(sum(p.upserts), 0) AS upserts, coalesce(sum(p.withdrawals), 0) AS withdrawals,
               coalesce(max(h.items_held), 0) AS items_held, max(p.acknowledged_at) AS last_acknowledged
          FROM ops.publications AS p
          LEFT JOIN held AS h USING (platform)
         WHERE p.platform NOT LIKE 'department:%%'
         GROUP BY p.platform
         ORDER BY p.platform"""))


def department(conn, code: str, period: dict, *, page: int = 1, grade_class: str | None = None) -> dict:
    """A department's figures in the period (its progress, its industries' classes) and its graded
    subjects (its industries), the worst first, a page at a time, of one class when asked."""
    found = _rows(conn, "SELECT department_code, department_name FROM marts.dim_departments"
                        " WHERE department_code = %s", (code,))  # fmt: skip
    if not found:
        raise NotFound(f"no department {code!r} / 无此部门")
    if grade_class is not None and grade_class not in CLASS_LABELS:
        raise NotFound(f"no grade class {grade_class!r}: A, B, C or D / 无此信用类别")
    page = max(page, 1)
    params = {"d": code, "p": period["evaluation_period"], "c": grade_class, "limit": PAGE_SIZE,
              "offset": (page - 1) * PAGE_SIZE}  # fmt: skip
    classes = {c: 0 for c in CLASS_LABELS}
    for c, n in conn.execute(
            "SELECT g.grade_class, count(*) FROM marts.fct_industry_credit_grades AS g"
            " JOIN marts.dim_industries AS i USING (industry_code)"
            " WHERE i.department_code = %(d)s AND g.evaluation_period = %(p)s GROUP BY 1",
            params).fetchall():  # fmt: skip
        classes[c] = n
    total = sum(n for c, n in classes.items() if grade_class is None or c == grade_class)
    subjects = _rows(conn, """
        SELECT g.uscc, s.subject_name, g.industry_code, i.industry_name, g.score, g.grade, g.grade_class,
               g.grade_basis
          FROM marts.fct_industry_credit_grades AS g
          JOIN marts.dim_industries AS i USING (industry_code)
          LEFT JOIN marts.dim_subjects AS s USING (uscc)
         WHERE i.department_code = %(d)s AND g.evaluation_period = %(p)s
           AND (%(c)s::text IS NULL OR g.grade_class = %(c)s)
         ORDER BY g.grade_class DESC, g.score, g.industry_code, g.uscc
         LIMIT %(limit)s OFFSET %(offset)s""", params)  # fmt: skip
    for s in subjects:
        s["grade_basis_label"] = GRADE_BASIS.get(s["grade_basis"], s["grade_basis"])
    progress_row = next(iter(progress(conn, period, code)), None)
    return {**found[0], "evaluation_period": period["evaluation_period"], "classes": classes,
            "grade_class": grade_class, "total": total, "page": page, "page_size": PAGE_SIZE,
            "progress": progress_row, "subjects": plain(subjects)}  # fmt: skip


def subject(conn, uscc: str, period: dict) -> dict:
    """A subject's grades in the period, each with the lines of its explanation."""
    found = _rows(conn, "SELECT uscc, subject_name, subject_type, registration_status FROM marts.dim_subjects"
                        " WHERE uscc = %s", (uscc,))  # fmt: skip
    if not found:
        raise NotFound(f"no subject with credit code {uscc!r} / 无此主体")
    grades = plain(_rows(conn, """
        SELECT g.industry_code, i.industry_name, g.score, g.grade, g.grade_class, g.is_vetoed, g.veto_rule_code,
               g.has_sufficient_data, g.grade_basis, g.basis_reason, g.rule_version
          FROM marts.fct_industry_credit_grades AS g
          JOIN marts.dim_industries AS i USING (industry_code)
         WHERE g.uscc = %s AND g.evaluation_period = %s
         ORDER BY g.industry_code""", (uscc, period["evaluation_period"])))  # fmt: skip
    lines = plain(_rows(conn, """
        SELECT e.industry_code, e.line_number, e.line_kind, e.indicator_code, d.indicator_name, e.rule_code,
               e.weight, e.item_count, e.points, e.detail
          FROM marts.fct_grade_explanations AS e
          LEFT JOIN marts.dim_indicators AS d
            ON d.rule_version = e.rule_version AND d.industry_code = e.industry_code
           AND d.indicator_code = e.indicator_code
         WHERE e.uscc = %s AND e.evaluation_period = %s
         ORDER BY e.industry_code, e.line_number""", (uscc, period["evaluation_period"])))  # fmt: skip
    for g in grades:
        g["grade_basis_label"] = GRADE_BASIS.get(g["grade_basis"], g["grade_basis"])
        g["explanation"] = [ln for ln in lines if ln["industry_code"] == g["industry_code"]]
    return {**found[0], "evaluation_period": period["evaluation_period"], "grades": grades}


def overview(conn, period: str | None = None) -> dict:
    """Everything the main page shows for one period."""
    now, previous = resolve_period(conn, period)
    role, read_only = conn.execute("SELECT current_user, current_setting('transaction_read_only') = 'on'").fetchone()
    return {
        "read_as": {"role": role, "read_only": read_only},
        "period": now,
        "previous_period": previous,
        "periods": [p["evaluation_period"] for p in periods(conn)],
        "grades": grade_distribution(conn, now, previous),
        "loads": loads(conn, now),
        "progress": progress(conn, now),
        "publications": publications(conn),
    }

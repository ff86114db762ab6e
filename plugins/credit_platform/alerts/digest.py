"""The daily digest of what is overdue: inspection results not published by their deadline (一公开),
objections not answered by their reply deadline, measures not recorded as applied by theirs.

Read as the analyst role; sent through the configured channels (``channels.py``) as one alert, or
not at all when nothing is overdue. Each list names the department, the subject, what is overdue
and since when, so the data team can chase the department that owes it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg

from credit_platform.alerts.channels import Alert, send
from credit_platform.inspection import lists as inspection_lists
from credit_platform.settings import today as city_today

#: At most this many items are listed in one digest (the counts cover them all).
MAX_ITEMS = 200


def overdue(url: str, today: dt.date | None = None) -> list[dict]:
    """Everything overdue on ``today`` (default: today on the city's clock), as rows a clerk reads (Chinese keys)."""
    today = today or city_today()
    items = [{"类别 kind": "抽查结果未按时公示 inspection result", "部门": o.department_code,
              "统一社会信用代码": o.uscc, "主体名称": o.subject_name, "事项": o.task_id,
              "截止日期": o.deadline.isoformat(), "逾期工作日": o.workdays_late}
             for o in inspection_lists.overdue(url, today)]  # fmt: skip
    from credit_platform.workdays import workdays_between

    with psycopg.connect(url) as conn:
        for dept, number, uscc, name, deadline in conn.execute(
                "SELECT department_code, objection_number, uscc, coalesce(subject_name, ''), reply_deadline"
                "  FROM marts.fct_objections WHERE is_overdue AND answered_on IS NULL"
                " ORDER BY reply_deadline, department_code, objection_number").fetchall():  # fmt: skip
            items.append({"类别 kind": "异议逾期未答复 objection", "部门": dept, "统一社会信用代码": uscc,
                          "主体名称": name, "事项": number, "截止日期": deadline.isoformat() if deadline else "",
                          "逾期工作日": workdays_between(deadline, today) if deadline else ""})  # fmt: skip
        # Overdue on the last grading run, or due then and past its deadline today (not yet graded again):
        # the mart's rule (a measure that ended before its deadline lapsed) applied on today.
        for dept, measure, uscc, name, deadline in conn.execute(
                "SELECT department_code, measure_name, uscc, coalesce(subject_name, ''), deadline"
                "  FROM marts.fct_measure_execution WHERE status = 'overdue' OR (status = 'due'"
                "   AND deadline < %(today)s AND NOT (due_until < deadline AND due_until < %(today)s))"
                " ORDER BY deadline, department_code, uscc", {"today": today}).fetchall():  # fmt: skip
            items.append({"类别 kind": "监管措施逾期未落实 measure", "部门": dept, "统一社会信用代码": uscc,
                          "主体名称": name, "事项": measure, "截止日期": deadline.isoformat() if deadline else "",
                          "逾期工作日": workdays_between(deadline, today) if deadline else ""})  # fmt: skip
        names = dict(conn.execute("SELECT department_code, department_name FROM marts.dim_departments").fetchall())
    for item in items:  # the department as a clerk names it
        item["部门"] = names.get(item["部门"], item["部门"])
    return items


def compose(items: list[dict], today: dt.date) -> Alert:
    kinds = Counter(i["类别 kind"] for i in items)
    depts = Counter(i["部门"] for i in items)
    text = (f"{today.isoformat()} 逾期事项 {len(items)} 项，请督促相关部门办理。{len(items)} item(s) overdue:"
            f" " + "; ".join(f"{k} {n}" for k, n in kinds.most_common()) + ".\n\n"
            "按部门 By department: " + ", ".join(f"{d} {n}" for d, n in depts.most_common()))  # fmt: skip
    if len(items) > MAX_ITEMS:
        text += f"\n\n只列出前 {MAX_ITEMS} 项 (the first {MAX_ITEMS} are listed)."
    return Alert("digest", f"[信用平台] 每日逾期汇总 Daily overdue digest {today.isoformat()}: {len(items)} 项", text,
                 items[:MAX_ITEMS], {"today": today.isoformat(), "total": len(items), "by_kind": dict(kinds),
                                     "by_department": dict(depts)})  # fmt: skip


def send_digest(url: str, today: dt.date | None = None) -> dict:
    """Send today's digest (nothing when nothing is overdue); returns what was found and where it went."""
    today = today or city_today()
    items = overdue(url, today)
    if not items:
        return {"overdue": 0, "sent_to": []}
    return {"overdue": len(items), "sent_to": send(compose(items, today))}

"""A grade explained as the subject who objects to it reads it (``credit-platform explain USCC``).

Everything comes from ``marts.fct_grade_explanations`` and the records it names: each line's
points, each veto, cap or adjustment, and for each line the records behind it with the file and
load batch they came in, so that a clerk answering an objection can show where every point came from.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

RECORD_ID = re.compile(r"^raw\.([a-z_]+)/(\d+)/(\d+)$")

#: What to show of a raw row, per raw table: (label, column) pairs.
RECORD_FIELDS = {
    "penalties": [("决定书文号", "decision_number"), ("决定日期", "decision_date"), ("违法行为类型", "violation_type"),
                  ("处罚类别", "penalty_category")],
    "commendations": [("表彰名称", "commendation_name"), ("级别", "commendation_level"), ("日期", "commendation_date")],
    "commitments": [("承诺类型", "commitment_type"), ("履约状态", "fulfilment_status")],
    "inspection_results": [("检查事项", "matter_code"), ("检查结果", "result"), ("检查日期", "inspection_date")],
    "complaints": [("渠道", "channel"), ("状态", "status"), ("受理日期", "received_date")],
    "licences": [("许可类别", "licence_category"), ("决定日期", "decision_date"), ("有效期至", "valid_to")],
    "province_evaluations": [("省评价等级", "grade"), ("评价日期", "evaluation_date")],
    "external_grades": [("评价体系", "grade_system"), ("等级", "grade"), ("评价日期", "evaluation_date")],
    "serious_dishonesty_list": [("列入日期", "listed_date"), ("列入机关", "listing_authority")],
    "grade_adjustments": [("调整编号", "adjustment_id"), ("调整理由", "reason"), ("审批人", "approver")],
}


class NotGraded(LookupError):
    pass


def resolve(conn, record_id: str) -> dict:
    """The raw row and load batch an explanation's record id names (``raw.<table>/<batch>/<row>``)."""
    m = RECORD_ID.match(record_id)
    if not m:
        raise ValueError(f"not a record id: {record_id!r}")
    table, batch_id, row_number = m.group(1), int(m.group(2)), int(m.group(3))
    cur = conn.execute(
        sql.SQL("SELECT r.*, b.source_file AS batch_file, b.file_sha256, b.finished_at AS loaded_at"
                " FROM {} r JOIN ops.load_batches b USING (batch_id) WHERE r.batch_id = %s AND r.row_number = %s"
                ).format(sql.Identifier("raw", table)), (batch_id, row_number))  # fmt: skip
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    if len(rows) != 1:
        raise LookupError(f"{record_id}: {len(rows)} raw rows")
    return {"table": table, **dict(zip(names, rows[0], strict=True))}


def describe(rec: dict) -> str:
    """A resolved raw row as a reader names it: its document numbers and dates (RECORD_FIELDS), or
    "" when its table has none to show."""
    return "，".join(f"{label} {rec.get(col)}" for label, col in RECORD_FIELDS.get(rec["table"], [])
                    if rec.get(col) not in (None, ""))  # fmt: skip


def explain(url: str, uscc: str, *, industry: str | None = None, period: str | None = None) -> str:
    """The explanation of a subject's grades (each industry; the latest period unless one is named)."""
    with psycopg.connect(url) as conn:
        grades = conn.execute(
            "SELECT g.industry_code, i.industry_name, g.evaluation_period, g.score, g.grade, g.grade_class,"
            " g.rule_version, g.basis_reason FROM marts.fct_industry_credit_grades g"
            " LEFT JOIN marts.dim_industries i USING (industry_code)"
            " WHERE g.uscc = %(u)s AND (%(i)s::text IS NULL OR g.industry_code = %(i)s)"
            " AND g.evaluation_period = coalesce(%(p)s, (SELECT max(evaluation_period)"
            "   FROM marts.fct_industry_credit_grades WHERE uscc = %(u)s))"
            " ORDER BY g.industry_code", {"u": uscc, "i": industry, "p": period}).fetchall()  # fmt: skip
        if not grades:
            raise NotGraded(f"{uscc}: no grade{' in ' + industry if industry else ''}"
                            f"{' for ' + period if period else ''}")  # fmt: skip
        name = conn.execute("SELECT subject_name FROM marts.dim_subjects WHERE uscc = %s", (uscc,)).fetchone()
        out = [f"信用评价说明 Grade explanation: {uscc} {name[0] if name and name[0] else ''}".rstrip()]
        for industry_code, industry_name, p, score, grade, grade_class, rule_version, basis in grades:
            out += ["", f"行业 {industry_name or industry_code} ({industry_code}), 评价期 {p}: 得分 {score}，"
                    f"等级 {grade}（{grade_class} 类） / score {score}, grade {grade}, class {grade_class}",
                    f"  规则版本 rule version {rule_version}; 依据 basis: {basis}"]  # fmt: skip
            lines = conn.execute(
                "SELECT line_kind, rule_code, weight, points, detail, source_record_ids"
                " FROM marts.fct_grade_explanations"
                " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s ORDER BY line_number",
                (uscc, industry_code, p)).fetchall()  # fmt: skip
            total = sum(points for _, _, _, points, _, _ in lines)
            for kind, rule_code, weight, points, detail, ids in lines:
                figures = f"{points:>6} / {weight:<6}" if kind == "indicator" else " " * 15
                head = f"  {figures} {detail}"
                out.append(head if kind == "indicator" else f"{head} [{rule_code}]")
                for rid in ids:
                    rec = resolve(conn, rid)
                    fields = describe(rec)
                    out.append(f"      · {fields or rid} — 来源 {rec['batch_file']} 第 {rec['row_number']} 行"
                               f"（批次 {rec['batch_id']}，{rec['loaded_at']:%Y-%m-%d} 入库） [{rid}]")  # fmt: skip
            out.append(f"  合计 total {total} = 得分 score {score}")
    return "\n".join(out)

"""A grade explained as the subject who objects to it reads it (``credit-platform explain USCC``), and
the facts the explanation letter (``redress/letters.py``) states, gathered once for both.

Everything comes from the marts and the records they name: each line of
``marts.fct_grade_explanations`` with its points, each veto, cap or adjustment, and for each line the
records behind it with the file and load batch they came in (so that a clerk answering an objection
can show where every point came from); the rule version's cut points (``marts.dim_grade_levels``);
the grade of the previous period and what changed, indicator by indicator; the measures and the
inspection ratio the class brings; how and by when to object (``objection_window_workdays`` of
``marts.dim_objection_settings``, counted in working days) and which records the subject may apply to
repair, from when (``marts.fct_repairable_records``). Every date is written YYYY-MM-DD.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import psycopg
from psycopg import sql

from credit_platform import uscc as credit_code
from credit_platform import workdays
from credit_platform.grade_levels import CLASS_LABELS
from credit_platform.settings import today

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
}  # fmt: skip
#: The columns of RECORD_FIELDS that hold a date: raw keeps them as delivered (2025/3/4, 2025年3月4日),
#: ``resolve`` reads them typed by ``ops.to_date``, the loader's and staging's one definition.
DATE_FIELDS = {"decision_date", "commendation_date", "inspection_date", "received_date", "valid_to",
               "evaluation_date", "listed_date"}  # fmt: skip
#: Working days from the day of the explanation within which the subject may object, when seed
#: objection_settings gives the department none.
OBJECTION_WINDOW_WORKDAYS = 15
RECORD_TYPES = {"penalty": "行政处罚", "serious_dishonesty": "严重失信主体名单"}


class NotGraded(LookupError):
    pass


class UnknownSubject(NotGraded):
    """A well-formed credit code that names no subject in the warehouse."""


class InvalidCode(ValueError):
    """Not a unified social credit code (wrong length, characters or check character; a resident ID number)."""


def check_code(text: str) -> str:
    """The normalised credit code of ``text``, or ``InvalidCode`` saying, in Chinese and English, what is
    wrong and what to do. A resident ID number is named as such and not repeated in the message."""
    code = credit_code.normalise(text)
    if credit_code.is_valid(code):
        return code
    if credit_code.looks_like_resident_id(code):
        raise InvalidCode("这是居民身份证号码，不是统一社会信用代码：信用评价只针对法人和非法人组织，"
                          "请输入该单位营业执照上的 18 位统一社会信用代码 /"
                          " this is a resident ID number, not a unified social credit code:"
                          " grades are given to organisations only; give the 18-character code on the organisation's"
                          " business licence")  # fmt: skip
    if len(code) != 18:
        raise InvalidCode(f"统一社会信用代码应为 18 位，{text.strip()!r} 有 {len(code)} 位：请核对后重新输入 /"
                          f" a unified social credit code has 18 characters, {text.strip()!r} has {len(code)}:"
                          " check it and give it again")  # fmt: skip
    if not credit_code.has_valid_shape(code):
        raise InvalidCode(f"{text.strip()!r} 含有统一社会信用代码不用的字符（第 3-8 位为数字，不用 I、O、S、V、Z）"
                          f"：请核对后重新输入 / {text.strip()!r} has characters a unified social credit code"
                          " does not use (positions 3-8 are digits; no I, O, S, V or Z): check it and give it"
                          " again")  # fmt: skip
    raise InvalidCode(f"{code} 的校验码（第 18 位）不符，代码有误：请对照营业执照逐位核对 /"
                      f" the check character (the 18th) of {code} does not match, so a character is wrong:"
                      " compare it with the business licence character by character")  # fmt: skip


def resolve(conn, record_id: str) -> dict:
    """The raw row and load batch an explanation's record id names (``raw.<table>/<batch>/<row>``),
    its dates (``DATE_FIELDS``) typed as the staging models type them (as delivered in
    ``<column>_as_delivered``)."""
    m = RECORD_ID.match(record_id)
    if not m:
        raise ValueError(f"not a record id: {record_id!r}")
    table, batch_id, row_number = m.group(1), int(m.group(2)), int(m.group(3))
    dates = [c for _, c in RECORD_FIELDS.get(table, []) if c in DATE_FIELDS]
    typed = sql.SQL("").join(sql.SQL(", ops.to_date(r.{}::text) AS {}").format(sql.Identifier(c), sql.Identifier(
        f"{c}__typed")) for c in dates)  # fmt: skip
    cur = conn.execute(
        sql.SQL("SELECT r.*, b.source_file AS batch_file, b.file_sha256, b.finished_at AS loaded_at{}"
                " FROM {} r JOIN ops.load_batches b USING (batch_id) WHERE r.batch_id = %s AND r.row_number = %s"
                ).format(typed, sql.Identifier("raw", table)), (batch_id, row_number))  # fmt: skip
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    if len(rows) != 1:
        raise LookupError(f"{record_id}: {len(rows)} raw rows")
    rec = {"table": table, **dict(zip(names, rows[0], strict=True))}
    for c in dates:  # a value that does not parse (kept with a warning) is shown as delivered
        typed = rec.pop(f"{c}__typed")
        rec[f"{c}_as_delivered"], rec[c] = rec[c], rec[c] if typed is None else typed
    return rec


def describe(rec: dict) -> str:
    """A resolved raw row as a reader names it: its document numbers and dates (RECORD_FIELDS; dates
    YYYY-MM-DD), or "" when its table has none to show."""
    return "，".join(f"{label} {_text(rec.get(col))}" for label, col in RECORD_FIELDS.get(rec["table"], [])
                    if rec.get(col) not in (None, ""))  # fmt: skip


def _text(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _dec(value) -> str:
    return "" if value is None else f"{float(value):g}"


def chinese(detail: str) -> str:
    """An explanation line's reason as a letter states it: its Chinese part, without the English
    translation after the last " / " and without the dimension and indicator names before ": "
    (the letter's table has columns for them)."""
    parts = (detail or "").split(" / ")
    if len(parts) > 1 and parts[-1].isascii():
        parts = parts[:-1]
    text = " / ".join(parts)
    return text.split(": ", 1)[1] if ": " in text else text


@contextmanager
def connected(target: str | psycopg.Connection):
    """A connection: ``target`` itself when it is one (a batch of letters shares it), else a new one."""
    if isinstance(target, str):
        with psycopg.connect(target) as conn:
            yield conn
    else:
        yield target


def _lines(conn, uscc: str, industry: str, period: str) -> list[dict]:
    from psycopg.rows import dict_row

    return conn.cursor(row_factory=dict_row).execute(
        "SELECT line_kind, indicator_code, rule_code, weight, points, detail, source_record_ids"
        " FROM marts.fct_grade_explanations WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s"
        " ORDER BY line_number", (uscc, industry, period)).fetchall()  # fmt: skip


def _sources(conn, ids: list[str] | None) -> list[dict]:
    """The records behind a line: their id, how a reader names them, and the file, row and batch they came in."""
    out = []
    for rid in ids or []:
        rec = resolve(conn, rid)
        out.append({"record_id": rid, "named": describe(rec), "file": rec["batch_file"],
                    "row_number": rec["row_number"], "batch_id": rec["batch_id"],
                    "loaded_on": f"{rec['loaded_at']:%Y-%m-%d}" if rec["loaded_at"] else None})  # fmt: skip
    return out


def _not_graded(conn, uscc: str, industry: str | None, period: str | None) -> NotGraded:
    known = conn.execute("SELECT EXISTS (SELECT FROM marts.dim_subjects WHERE uscc = %(u)s)"
                         " OR EXISTS (SELECT FROM marts.fct_industry_credit_grades WHERE uscc = %(u)s)",
                         {"u": uscc}).fetchone()[0]  # fmt: skip
    if not known:
        return UnknownSubject(
            f"数据仓库中没有统一社会信用代码为 {uscc} 的主体：请核对代码；新登记的主体在登记信息载入并完成下一次评价后"
            f"才有信用等级 / no subject with the code {uscc} is in the warehouse: check the code; a newly registered"
            " subject has a grade once its register record is loaded and the next grading has run")  # fmt: skip
    return NotGraded(f"{uscc} 没有{'行业 ' + industry + ' ' if industry else ''}{period or ''}的信用等级 / no grade"
                     f"{' in ' + industry if industry else ''}{' for ' + period if period else ''}:"
                     " check the industry and the period (without them: every industry, the latest one)")  # fmt: skip


def gather(url: str | psycopg.Connection, uscc: str, *, industry: str | None = None, period: str | None = None,
           on: dt.date | None = None, memo: dict | None = None) -> list[dict]:  # fmt: skip
    """One context per grade: the subject's grades in ``period`` (default its latest), in ``industry`` or in
    each industry, with everything the explanation and the letter state; the objection window counts
    from ``on`` (default today). Raises ``UnknownSubject`` for a code the warehouse does not know and
    ``NotGraded`` when the subject has no such grade."""
    on = on or today()
    memo = {} if memo is None else memo  # what many letters share: cut points, indicator names, ratios

    def once(key: tuple, query: str, params: tuple, one: bool = False):
        if key not in memo:
            cur = conn.execute(query, params)
            memo[key] = cur.fetchone() if one else cur.fetchall()
        return memo[key]

    with connected(url) as conn:
        grades = conn.execute(
            "SELECT g.industry_code, i.industry_name, i.department_code, i.department_name, g.evaluation_period,"
            " g.score, g.grade, g.grade_class, g.rule_version, g.basis_reason, g.grade_basis, r.description"
            " FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i USING (industry_code)"
            " LEFT JOIN marts.dim_rule_versions r ON r.rule_version = g.rule_version"
            " WHERE g.uscc = %(u)s AND (%(i)s::text IS NULL OR g.industry_code = %(i)s)"
            " AND g.evaluation_period = coalesce(%(p)s, (SELECT max(evaluation_period)"
            "   FROM marts.fct_industry_credit_grades WHERE uscc = %(u)s"
            "   AND (%(i)s::text IS NULL OR industry_code = %(i)s)))"
            " ORDER BY g.industry_code", {"u": uscc, "i": industry, "p": period}).fetchall()  # fmt: skip
        if not grades:
            raise _not_graded(conn, uscc, industry, period)
        name = conn.execute("SELECT subject_name FROM marts.dim_subjects WHERE uscc = %s", (uscc,)).fetchone()
        out = []
        for (ind, ind_name, dept, dept_name, p, score, grade, cls, rule, basis, grade_basis,
             rule_description) in grades:  # fmt: skip
            levels = once(("levels", rule),
                          "SELECT grade, grade_class, lower_bound, upper_bound, is_lower_inclusive"
                          " FROM marts.dim_grade_levels WHERE rule_version = %s ORDER BY level_rank", (rule,))
            names = {r[0]: (r[1], r[2]) for r in once(
                ("names", rule, ind), "SELECT indicator_code, indicator_name, dimension_name FROM marts.dim_indicators"
                " WHERE rule_version = %s AND industry_code = %s", (rule, ind))}  # fmt: skip
            lines = _lines(conn, uscc, ind, p)
            for ln in lines:
                ln["indicator_name"], ln["dimension_name"] = names.get(ln["indicator_code"], (ln["indicator_code"], ""))
                ln["sources"] = _sources(conn, ln["source_record_ids"])
            previous = conn.execute(
                "SELECT evaluation_period, score, grade, grade_class FROM marts.fct_industry_credit_grades"
                " WHERE uscc = %s AND industry_code = %s AND evaluation_period < %s"
                " ORDER BY evaluation_period DESC LIMIT 1", (uscc, ind, p)).fetchone()  # fmt: skip
            changes, rule_changes = [], []
            if previous:
                before = {(ln["line_kind"], ln["indicator_code"] or ln["rule_code"]): ln
                          for ln in _lines(conn, uscc, ind, previous[0])}  # fmt: skip
                for ln in lines:
                    old = before.pop((ln["line_kind"], ln["indicator_code"] or ln["rule_code"]), None)
                    if ln["line_kind"] == "indicator":
                        delta = float(ln["points"]) - float(old["points"] if old else 0)
                        if abs(delta) >= 0.005:
                            changes.append({"indicator_code": ln["indicator_code"],
                                            "indicator_name": ln["indicator_name"] or ln["indicator_code"],
                                            "before": _dec(old["points"]) if old else "0", "after": _dec(ln["points"]),
                                            "delta": f"{delta:+g}", "detail": chinese(ln["detail"])})  # fmt: skip
                    elif old is None:
                        rule_changes.append(f"新增：{chinese(ln['detail'])}")
                rule_changes += [f"不再适用：{chinese(ln['detail'])}" for (kind, _c), ln in before.items()
                                 if kind != "indicator"]
                changes.sort(key=lambda c: -abs(float(c["delta"])))
            measures = conn.execute(
                "SELECT DISTINCT measure_code, measure_name, measure_kind, due_from, due_until"
                " FROM marts.fct_subject_measures"
                " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s AND ended_on IS NULL"
                " ORDER BY measure_code", (uscc, ind, p)).fetchall()  # fmt: skip
            ratio = once(("ratio", dept, cls), "SELECT sampling_ratio, min_count, max_per_year"
                         " FROM marts.dim_inspection_ratios WHERE department_code = %s AND grade_class = %s",
                         (dept, cls), one=True)  # fmt: skip
            window = once(("window", dept), "SELECT objection_window_workdays FROM marts.dim_objection_settings"
                          " WHERE department_code = %s", (dept,), one=True)  # fmt: skip
            repairs = conn.execute(
                "SELECT record_type, record_reference, record_date, severity, publication_rule, may_apply_from,"
                " publication_end_date FROM marts.fct_repairable_records WHERE uscc = %s AND department_code = %s"
                " AND repaired_date IS NULL AND publication_end_date >= %s ORDER BY record_date, record_reference",
                (uscc, dept, on)).fetchall()  # fmt: skip
            window_days = int(window[0]) if window and window[0] is not None else OBJECTION_WINDOW_WORKDAYS
            out.append({
                "uscc": uscc, "subject_name": (name[0] if name else "") or "", "industry_code": ind,
                "industry_name": ind_name, "department_code": dept, "department_name": dept_name,
                "evaluation_period": p, "score": _dec(score), "grade": grade, "grade_class": cls,
                "class_label": CLASS_LABELS.get(cls, cls), "rule_version": rule,
                "rule_description": rule_description or "",
                "basis_reason": basis or "", "grade_basis": grade_basis,
                "grade_levels": [{"grade": g, "grade_class": c, "class_label": CLASS_LABELS.get(c, c),
                                  "lower_bound": _dec(lo), "upper_bound": _dec(hi), "is_lower_inclusive": inc,
                                  "range": f"{float(lo):g} {'≤' if inc else '<'} 得分 ≤ {float(hi):g}"}
                                 for g, c, lo, hi, inc in levels],
                "lines": [{"line_kind": ln["line_kind"], "rule_code": ln["rule_code"],
                           "indicator_code": ln["indicator_code"], "indicator_name": ln["indicator_name"],
                           "weight": _dec(ln["weight"]), "points": _dec(ln["points"]), "detail": ln["detail"] or "",
                           "sources": ln["sources"]} for ln in lines],
                "indicators": [{"dimension_name": ln["dimension_name"] or "", "indicator_name": ln["indicator_name"],
                                "weight": _dec(ln["weight"]), "points": _dec(ln["points"]),
                                "detail": chinese(ln["detail"]), "records": _named(ln["sources"])}
                               for ln in lines if ln["line_kind"] == "indicator"],
                "rules": [{"detail": chinese(ln["detail"]), "records": _named(ln["sources"])}
                          for ln in lines if ln["line_kind"] != "indicator"],
                "total_points": _dec(sum(float(ln["points"]) for ln in lines)),
                "previous": {"evaluation_period": previous[0], "score": _dec(previous[1]), "grade": previous[2],
                             "grade_class": previous[3]} if previous else None,
                "changes": changes, "rule_changes": rule_changes,
                "measures": [{"measure_code": m[0], "measure_name": m[1], "kind": m[2], "due_from": _iso(m[3]),
                              "due_until": _iso(m[4])} for m in measures],
                "inspection": {"ratio": f"{float(ratio[0]) * 100:g}%", "min_count": ratio[1],
                               "max_per_year": ratio[2]} if ratio else None,
                "objection_window_workdays": window_days, "objection_from": on.isoformat(),
                "objection_by": workdays.add_workdays(on, window_days).isoformat(),
                "repairable": [{"record_type": r[0], "record_type_label": RECORD_TYPES.get(r[0], r[0]),
                                "decision_number": r[1], "decision_date": _iso(r[2]), "severity": r[3], "rule": r[4],
                                "from": _iso(r[5]), "until": _iso(r[6])} for r in repairs],
            })  # fmt: skip
    return out


def _named(sources: list[dict]) -> list[str]:
    """The records behind a line as a letter names them: their document numbers and dates, else file and row."""
    return [s["named"] or f"{s['file']} 第 {s['row_number']} 行" for s in sources]


def render(contexts: list[dict]) -> str:
    """The explanation as text: per grade its lines with the records behind them, the cut points, the
    previous period and what changed, and how and by when to object or apply for repair."""
    first = contexts[0]
    out = [f"信用评价说明 Grade explanation: {first['uscc']} {first['subject_name']}".rstrip()]
    for c in contexts:
        score = c["score"]
        out += ["", f"行业 {c['industry_name'] or c['industry_code']} ({c['industry_code']}),"
                f" 评价期 {c['evaluation_period']}: 得分 {score}，等级 {c['grade']}"
                f"（{c['grade_class']} 类，{c['class_label']}） / score {score}, grade {c['grade']},"
                f" class {c['grade_class']}",
                f"  规则版本 rule version {c['rule_version']}; 依据 basis: {c['basis_reason']}"]  # fmt: skip
        for ln in c["lines"]:
            figures = f"{ln['points']:>6} / {ln['weight']:<6}" if ln["line_kind"] == "indicator" else " " * 15
            head = f"  {figures} {ln['detail']}"
            out.append(head if ln["line_kind"] == "indicator" else f"{head} [{ln['rule_code']}]")
            for s in ln["sources"]:
                out.append(f"      · {s['named'] or s['record_id']} — 来源 {s['file']} 第 {s['row_number']} 行"
                           f"（批次 {s['batch_id']}，{s['loaded_on']} 入库） [{s['record_id']}]")  # fmt: skip
        out.append(f"  合计 total {c['total_points']} = 得分 score {score}")
        out.append(f"  等级标准 cut points (rule version {c['rule_version']}):")
        out += [f"    {g['grade']:<3} {g['grade_class']} 类（{g['class_label']}） {g['range']}"
                for g in c["grade_levels"]]
        p = c["previous"]
        if p is None:
            out.append("  上一评价期 previous period: 无，本期为该行业的首次评价 /"
                       " none, the first grade in this industry")
        else:
            out.append(f"  上一评价期 previous period {p['evaluation_period']}: 得分 {p['score']}，等级 {p['grade']}"
                       f"（{p['grade_class']} 类） → 本期 {score}，{c['grade']}（{c['grade_class']} 类） /"
                       f" score {p['score']}, grade {p['grade']} → {score}, {c['grade']}")  # fmt: skip
            out.append("  变化 what changed:" if c["changes"] or c["rule_changes"] else
                       "  变化 what changed: 各项指标得分与上期相同 / every indicator scored as in the previous period")
            out += [f"    {ch['indicator_name']}: {ch['before']} → {ch['after']} ({ch['delta']}) {ch['detail']}"
                    for ch in c["changes"]]
            out += [f"    {r}" for r in c["rule_changes"]]
        out.append(f"  异议 objection: 如有异议，请于 {c['objection_by']} 前（自 {c['objection_from']} 起"
                   f" {c['objection_window_workdays']} 个工作日内）向{c['department_name']}提出书面异议，"
                   "写明异议事项、理由并附证明材料"
                   f" / to object, write to {c['department_name']} ({c['department_code']}) by {c['objection_by']}"
                   f" ({c['objection_window_workdays']} working days from {c['objection_from']}) with the grounds and"
                   " the evidence (credit-platform objection file)")  # fmt: skip
        if not c["repairable"]:
            out.append("  信用修复 credit repair: 无可申请修复的记录 / no record to repair")
        else:
            out.append("  信用修复 credit repair: 下列记录可自所列日期起申请修复 /"
                       " these records may be repaired from the day given (credit-platform repair file)")  # fmt: skip
            out += [f"    · {r['record_type_label']} {r['decision_number']}（{r['decision_date']}）：可自 {r['from']}"
                    f" 起申请，公示至 {r['until']} / {r['record_type']}, may apply from {r['from']},"
                    f" published until {r['until']}" for r in c["repairable"]]  # fmt: skip
    return "\n".join(out)


def explain(url: str, uscc: str, *, industry: str | None = None, period: str | None = None,
            on: dt.date | None = None) -> str:  # fmt: skip
    """The explanation of a subject's grades (each industry; the latest period unless one is named)."""
    return render(gather(url, uscc, industry=industry, period=period, on=on))

"""Objections (异议) and repair applications (信用修复申请): filing, the steps a department takes on
them, and where each stands.

A case arrives as a row of a department's inbox file (sources ``objection`` and
``repair_application``) or through ``credit-platform objection file`` / ``repair file``, which write
a one-row file into the inbox and load it like any other, so that the archive holds it. Every step
after that is one row of ``ops.case_events`` (who, when, why), checked against ``STEPS``; a step the
case cannot take is refused with a message saying what it can do instead. Where a case stands, its
reply deadline and whether it is overdue are read from the registers ``marts.fct_objections`` and
``marts.fct_repair_applications`` (views, so a step shows at once).

A decision that changes something files that change through the inbox too: an upheld objection a
grade adjustment naming the objection (source ``grade_adjustment``), a granted repair application a
repair decision (source ``credit_repair``; for a list entry also the entry's 移出日期). The next
grading run takes them like any other record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from credit_platform import uscc as credit_code
from credit_platform.ingest import config
from credit_platform.redress.states import KIND_REFUSALS, KINDS, PLATFORM_ACTOR, REFUSAL_REASONS, STATE_LABELS, STEPS  # noqa: F401 (KINDS, STATE_LABELS: the names callers use)
from credit_platform.settings import TIMEZONE, today

ANSWER_CHANNELS = ("书面", "电子邮件", "短信", "当面")
RECORD_TYPES = {"penalty": "行政处罚", "serious_dishonesty": "严重失信主体名单"}


class StepRefused(ValueError):
    """The step cannot be taken: nothing was recorded. The message says why and what can be done."""


class CaseNotFound(LookupError):
    pass


class NotLoaded(RuntimeError):
    """A file the step wrote into the inbox did not load: nothing was recorded."""


@dataclass(frozen=True)
class Filing:
    """One objection or repair application as a department receives it."""

    kind: str
    department_code: str
    number: str
    uscc: str
    received_date: dt.date
    grounds: str
    subject_name: str = ""
    industry: str = ""  # objection: 行业 (code or name)
    evaluation_period: str = ""  # objection: 评价周期
    record_type: str = ""  # repair: penalty / serious_dishonesty
    record_reference: str = ""  # repair: 原决定文书号
    evidence_reference: str = ""
    answer_channel: str = "书面"


@dataclass
class Step:
    kind: str
    department_code: str
    number: str
    from_state: str
    to_state: str
    actor: str
    reason: str
    decided_on: dt.date
    reason_code: str | None = None
    effect: str | None = None
    files: list[str] = field(default_factory=list)


def _register(kind: str) -> tuple[str, str]:
    return ("marts.fct_objections", "objection_number") if kind == "objection" else \
        ("marts.fct_repair_applications", "application_number")  # fmt: skip


def checked(f: Filing) -> Filing:
    """The filing with its code normalised, checked in Chinese and English (``ValueError``)."""
    if f.kind not in KINDS:
        raise ValueError(f"unknown case kind {f.kind!r}")
    code = credit_code.normalise(f.uscc)
    if not credit_code.is_valid(code):
        raise ValueError(f"统一社会信用代码无效 / not a valid unified social credit code: {f.uscc!r}")
    if f.department_code not in config.departments():
        raise ValueError(f"未知部门代码 / unknown department code {f.department_code!r}:"
                         f" one of {', '.join(sorted(config.departments()))}")  # fmt: skip
    if f.received_date > today():
        raise ValueError(f"受理日期不能晚于今天 / the day received {f.received_date} is in the future")
    if not f.grounds.strip():
        raise ValueError("理由不能为空 / the grounds must be given (异议理由 / 申请理由)")
    if f.answer_channel not in ANSWER_CHANNELS:
        raise ValueError(f"答复方式应为 {' / '.join(ANSWER_CHANNELS)} / the answer channel must be one of them,"
                         f" not {f.answer_channel!r}")  # fmt: skip
    if f.kind == "repair":
        if f.record_type not in RECORD_TYPES:
            raise ValueError(f"修复信息类别应为 penalty（行政处罚）或 serious_dishonesty（严重失信主体名单）/"
                             f" the record type must be penalty or serious_dishonesty, not {f.record_type!r}")
        if not f.record_reference.strip():
            raise ValueError("原决定文书号不能为空 / name the record to repair by its decision number")
    elif not f.industry.strip() or not f.evaluation_period.strip():
        raise ValueError("异议须写明行业和评价周期 / an objection names the industry and the evaluation period")
    number = f.number.strip()
    if not number or len(number) > 60 or any(c in number for c in "/\\|\n\r"):
        raise ValueError(f"编号不能为空，不能含 / \\ | 或换行 / the case number must be given, without / \\ | or a line"
                         f" break: {f.number!r}")  # fmt: skip
    return Filing(f.kind, f.department_code, number, code, f.received_date, f.grounds.strip(),
                  f.subject_name.strip(), f.industry.strip(), f.evaluation_period.strip(), f.record_type,
                  f.record_reference.strip(), f.evidence_reference.strip(), f.answer_channel)  # fmt: skip


def next_number(url: str, kind: str, department: str, on: dt.date) -> str:
    """A new case number for a department and day: YY-<DEPT>-<YYYYMMDD>-<n> (异议) or XF-... (修复申请)."""
    prefix = f"{'YY' if kind == 'objection' else 'XF'}-{department.upper()}-{on:%Y%m%d}-"
    table, column = ("raw.objections", "objection_number") if kind == "objection" else \
        ("raw.repair_applications", "application_number")  # fmt: skip
    with psycopg.connect(url) as conn:
        taken = {r[0] for r in conn.execute(
            f"SELECT {column} FROM {table} WHERE department_code = %s AND {column} LIKE %s",  # noqa: S608 (constants)
            (department, prefix + "%"))}  # fmt: skip
    n = 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def _one_row_file(inbox: Path, source_name: str, stem: str, department: str, values: dict[str, str],
                  label: str, now: dt.datetime | None = None) -> str:  # fmt: skip
    source = config.sources()[source_name]
    header = {c.name: c.headers[0] for c in source.columns}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([header[k] for k in values])
    writer.writerow(list(values.values()))
    now = now or dt.datetime.now(ZoneInfo(TIMEZONE))
    rel = f"departments/{department}/{stem}_{now:%Y%m%dT%H%M%S%f}_{label}.csv"
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="") as fh:  # never overwrite a file already there
        fh.write(buf.getvalue())
    return rel


def write_filing(inbox: Path, f: Filing) -> str:
    """The filing as a one-row CSV in the department's inbox folder; returns its inbox-relative path."""
    if f.kind == "objection":
        values = {"objection_number": f.number, "uscc": f.uscc, "subject_name": f.subject_name,
                  "industry": f.industry, "evaluation_period": f.evaluation_period, "grounds": f.grounds,
                  "evidence_reference": f.evidence_reference, "answer_channel": f.answer_channel,
                  "received_date": f.received_date.isoformat()}  # fmt: skip
        return _one_row_file(inbox, "objection", "objections_filed", f.department_code, values, f.number)
    values = {"application_number": f.number, "uscc": f.uscc, "subject_name": f.subject_name,
              "record_type": RECORD_TYPES[f.record_type], "record_reference": f.record_reference,
              "grounds": f.grounds, "evidence_reference": f.evidence_reference, "answer_channel": f.answer_channel,
              "received_date": f.received_date.isoformat()}  # fmt: skip
    return _one_row_file(inbox, "repair_application", "repair_applications_filed", f.department_code, values,
                         f.number)


def case(url: str, kind: str, department: str, number: str) -> dict:
    """The case's row of its register (``marts.fct_objections`` or ``marts.fct_repair_applications``)."""
    table, column = _register(kind)
    with psycopg.connect(url) as conn:
        cur = conn.execute(f"SELECT * FROM {table} WHERE department_code = %s AND {column} = %s",  # noqa: S608
                           (department, number))  # fmt: skip
        row = cur.fetchone()
        names = [d.name for d in cur.description]
    if row is None:
        what = "异议" if kind == "objection" else "修复申请"
        raise CaseNotFound(f"{department} 没有编号为 {number} 的{what} / {department} has no {kind} numbered {number}"
                           f" (it is registered once its file is loaded: `credit-platform {kind} list`)")  # fmt: skip
    return dict(zip(names, row, strict=True))


def plan_step(c: dict, kind: str, to_state: str, actor: str, reason: str, *, on: dt.date,
              reason_code: str | None = None) -> Step:  # fmt: skip
    """The step ``to_state`` for the case ``c`` (its register row), or ``StepRefused`` saying why it cannot
    be taken and what the case can do instead."""
    labels = STATE_LABELS[kind]
    number = c["objection_number" if kind == "objection" else "application_number"]
    state = c["state"]
    if to_state not in labels or to_state == "received":
        raise StepRefused(f"没有“{to_state}”这一状态 / there is no state {to_state!r}: one of "
                          f"{', '.join(s for s in labels if s != 'received')}")  # fmt: skip
    allowed = STEPS[state]
    if to_state not in allowed:
        then = "、".join(f"{labels[s]}（{s}）" for s in allowed) or "无（已办结）"
        raise StepRefused(f"{number} 当前为“{labels[state]}”，不能转为“{labels[to_state]}”；可办理：{then} /"
                          f" {number} is {state} and cannot move to {to_state}; it can move to:"
                          f" {', '.join(allowed) or 'nothing (closed)'}")
    if not actor.strip():
        raise StepRefused("须写明办理人 / say who takes the step (--by)")
    if not reason.strip():
        raise StepRefused("须写明理由 / say why (--why)")
    if on < (c.get("state_since") or c["received_date"]):
        raise StepRefused(f"办理日期 {on} 早于上一步 / the day {on} is before the case's previous step or its receipt")
    if on > today():
        raise StepRefused(f"办理日期 {on} 晚于今天 / the day {on} is in the future")
    if to_state == "refused":
        if reason_code not in KIND_REFUSALS[kind]:
            raise StepRefused("不予受理须写明原因 / a refusal names its reason (--reason): " + "; ".join(
                f"{r} {REFUSAL_REASONS[r]}" for r in KIND_REFUSALS[kind]))  # fmt: skip
    elif reason_code is not None:
        raise StepRefused(f"只有不予受理写原因代码 / only a refusal takes a reason code, not {to_state}")
    if kind == "repair" and to_state == "accepted":
        if not c["record_found"]:
            raise StepRefused(f"{number}: 未找到{c['uscc']}文书号为 {c['record_reference']} 的"
                              f"{RECORD_TYPES.get(c['record_type'], '')}信息，请以 out_of_scope 不予受理或核对文书号 /"
                              f" no such record of the subject: refuse it (--reason out_of_scope) or check the"
                              " decision number")  # fmt: skip
        if not c["is_after_minimum_period"]:
            raise StepRefused(f"{number}: 最短公示期未满，自 {c['may_apply_from']} 起方可申请修复"
                              f"（{c['publication_rule']}），"
                              f"请以 too_early 不予受理 / the minimum publication period ends on {c['may_apply_from']}"
                              f" ({c['publication_rule']}): refuse it (--reason too_early); the subject may apply"
                              f" from {c['may_apply_from']}")  # fmt: skip
    return Step(kind, c["department_code"], number, state, to_state, actor.strip(), reason.strip(), on, reason_code)


def record_step(url: str, step: Step) -> int:
    """Insert the step into ops.case_events, unless the case moved meanwhile; returns its event id."""
    with psycopg.connect(url) as conn:
        try:
            (event_id,) = conn.execute(
                "INSERT INTO ops.case_events (case_kind, department_code, case_number, from_state, to_state,"
                " reason_code, reason, actor, decided_on, effect) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING event_id",
                (step.kind, step.department_code, step.number, step.from_state, step.to_state, step.reason_code,
                 step.reason, step.actor, step.decided_on, step.effect)).fetchone()  # fmt: skip
        except psycopg.errors.UniqueViolation:
            raise StepRefused(f"{step.number} 已由他人从“{step.from_state}”转出，请重新查看 / someone else moved the"
                              f" case out of {step.from_state} meanwhile: look at it again"
                              f" (`credit-platform {step.kind} history`)") from None  # fmt: skip
    return event_id


def history(url: str, kind: str, department: str, number: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "SELECT from_state, to_state, reason_code, reason, actor, decided_on, effect, recorded_at, recorded_by"
            " FROM ops.case_events WHERE case_kind = %s AND department_code = %s AND case_number = %s"
            " ORDER BY event_id", (kind, department, number))  # fmt: skip
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def listing(url: str, kind: str, *, department: str | None = None, overdue: bool = False,
            state: str | None = None) -> list[dict]:  # fmt: skip
    """The register's rows (deadline first), optionally one department's, only the overdue, or one state."""
    table, column = _register(kind)
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            f"SELECT * FROM {table} WHERE (%(d)s::text IS NULL OR department_code = %(d)s)"  # noqa: S608 (constants)
            " AND (NOT %(o)s OR is_overdue) AND (%(s)s::text IS NULL OR state = %(s)s)"
            f" ORDER BY reply_deadline NULLS FIRST, department_code, {column}",
            {"d": department, "o": overdue, "s": state})  # fmt: skip
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def grade_adjustment_values(c: dict, grade: str, actor: str, reason: str, on: dt.date) -> dict[str, str]:
    """The grade adjustment (人工调整) an upheld objection files: it names the objection."""
    return {"adjustment_id": f"YYGZ-{c['objection_number']}", "uscc": c["uscc"],
            "subject_name": c["subject_name"] or "",
            "industry_code": c["industry_code"], "evaluation_period": c["evaluation_period"], "adjusted_grade": grade,
            "reason": reason, "approver": actor, "approval_date": on.isoformat(),
            "objection_id": c["objection_number"]}  # fmt: skip


def write_correction(inbox: Path, c: dict, grade: str, actor: str, reason: str, on: dt.date) -> str:
    """An upheld objection's grade adjustment as a one-row file in the department's inbox folder."""
    if not c["industry_code"]:
        raise StepRefused(f"{c['objection_number']}: 异议的行业“{c['industry_as_delivered']}”无法识别，"
                          "不能调整等级 / the"
                          " objection's industry matches none of seed industries: correct the filing first")
    values = grade_adjustment_values(c, grade, actor, reason, on)
    return _one_row_file(inbox, "grade_adjustment", "grade_adjustments_objection", c["department_code"], values,
                         c["objection_number"])


def repair_decision_values(c: dict, department_name: str, on: dt.date) -> dict[str, str]:
    return {"uscc": c["uscc"], "subject_name": c["subject_name"] or "", "record_type": RECORD_TYPES[c["record_type"]],
            "record_reference": c["record_reference"], "repair_date": on.isoformat(),
            "repair_number": f"XFJD-{c['application_number']}", "repair_authority": department_name}  # fmt: skip


def write_repair(url: str, inbox: Path, c: dict, on: dt.date) -> list[str]:
    """A granted application's repair decision (source credit_repair) and, for a list entry, the entry
    again with its 移出日期 (source serious_dishonesty), as one-row files in the department's folder."""
    with psycopg.connect(url) as conn:
        name = conn.execute("SELECT department_name FROM marts.dim_industries WHERE department_code = %s LIMIT 1",
                            (c["department_code"],)).fetchone()  # fmt: skip
        listing_row = None
        if c["record_type"] == "serious_dishonesty":
            listing_row = conn.execute(
                "SELECT listing_authority, listing_reason FROM marts.fct_repairable_records"
                " WHERE record_type = 'serious_dishonesty' AND department_code = %s AND uscc = %s"
                " AND record_reference = %s", (c["record_department_code"], c["uscc"], c["matched_reference"]),
            ).fetchone()  # fmt: skip
    files = [_one_row_file(inbox, "credit_repair", "credit_repairs_granted", c["department_code"],
                           repair_decision_values(c, name[0] if name else c["department_code"], on),
                           c["application_number"])]  # fmt: skip
    if listing_row is not None:
        authority, reason = listing_row
        files.append(_one_row_file(inbox, "serious_dishonesty", "serious_dishonesty_list_repaired",
                                   c["record_department_code"],
                                   {"uscc": c["uscc"], "subject_name": c["subject_name"] or "",
                                    "listed_date": c["matched_reference"], "removed_date": on.isoformat(),
                                    "listing_authority": authority or "", "listing_reason": reason or ""},
                                   c["application_number"]))  # fmt: skip
    return files


def load(loader_url: str, inbox: Path, files: list[str], outbox: Path | None = None) -> list:
    """Load one-row files written into the inbox (the department gets its receipts in ``outbox``, default
    the configured one); ``NotLoaded`` unless each loaded its row."""
    from credit_platform.ingest.loader import load_files
    from credit_platform.receipts.write import last_batch, write_since_logged
    from credit_platform.settings import paths

    after = last_batch(loader_url)
    results, failures = load_files(loader_url, files, inbox=inbox)
    write_since_logged(loader_url, after, outbox or paths().outbox)
    if failures or len(results) != len(files) or any(r.rows_loaded != 1 for r in results):
        raise NotLoaded("写入收件箱的文件未能装载 / the file written into the inbox did not load: "
                        + ("; ".join(failures) or ", ".join(files)))  # fmt: skip
    return results


@dataclass
class Filed:
    file: str
    batch_id: int
    case: dict | None  # its register row; None before the first grading run built the register
    refused: Step | None = None  # a repair application filed before its minimum period ended


def file_case(urls: dict[str, str], inbox: Path, f: Filing) -> Filed:
    """File a checked case through the inbox. A repair application filed before the record's minimum
    publication period ended is refused at once (too_early), the day it may apply in the reason."""
    rel = write_filing(inbox, f)
    (result,) = load(urls["loader"], inbox, [rel])
    try:
        c = case(urls["analyst"], f.kind, f.department_code, f.number)
    except (CaseNotFound, psycopg.errors.UndefinedTable):
        return Filed(rel, result.batch_id, None)
    if f.kind == "repair" and c["record_found"] and not c["is_after_minimum_period"]:
        step = plan_step(c, "repair", "refused", PLATFORM_ACTOR,
                         f"最短公示期未满（公示规则 {c['publication_rule']}），"
                         f"自 {c['may_apply_from']} 起方可申请信用修复", on=f.received_date,
                         reason_code="too_early")  # fmt: skip
        record_step(urls["publisher"], step)
        return Filed(rel, result.batch_id, case(urls["analyst"], f.kind, f.department_code, f.number), step)
    return Filed(rel, result.batch_id, c)


def decide(urls: dict[str, str], inbox: Path, outbox: Path, kind: str, department: str, number: str, to_state: str,
           actor: str, reason: str, *, on: dt.date, reason_code: str | None = None, grade: str | None = None,
           correction: str | None = None, pdf: bool = True) -> Step:  # fmt: skip
    """Take one step: check it, file what the decision changes through the inbox (an upheld objection's
    grade adjustment, a granted repair's decision), write the answer letter when answering, then record
    it. ``StepRefused`` (nothing recorded) when the case cannot take it."""
    from credit_platform.redress import letters

    c = case(urls["analyst"], kind, department, number)
    step = plan_step(c, kind, to_state, actor, reason, on=on, reason_code=reason_code)
    decided = to_state in ("upheld", "partly_upheld")
    if (grade or correction) and not (kind == "objection" and decided):
        raise StepRefused("--grade / --correction 只用于异议成立 / only an upheld objection records a correction")
    if kind == "objection" and decided:
        if grade:
            rel = write_correction(inbox, c, grade.strip().upper(), step.actor, step.reason, on)
            (result,) = load(urls["loader"], inbox, [rel], outbox)
            step.effect = (f"人工调整 YYGZ-{c['objection_number']} → {grade.strip().upper()}"
                           f" ({rel}, batch {result.batch_id})")  # fmt: skip
        elif correction:
            step.effect = f"更正记录 / corrected record: {correction}"
        else:
            raise StepRefused(
                "异议成立须记录更正：--grade 调整后等级（生成一条注明异议编号的人工调整），"
                "或 --correction 说明已报送的更正记录 / an upheld objection records its correction: --grade GRADE"
                " (a grade adjustment naming the objection) or --correction 'the corrected record sent, e.g. its file'")
    elif kind == "repair" and decided:
        files = write_repair(urls["analyst"], inbox, c, on)
        results = load(urls["loader"], inbox, files, outbox)
        step.effect = "修复决定 / repair decision " + ", ".join(
            f"{f} (batch {r.batch_id})" for f, r in zip(files, results, strict=True))  # fmt: skip
    if to_state == "answered":
        steps = history(urls["analyst"], kind, department, number)
        written = letters.write_answer(urls["transformer"], urls["publisher"], kind, c, steps, outbox, on=on, pdf=pdf)
        step.effect = f"答复书 {written.letters[0]} ({written.folder})"
    record_step(urls["publisher"], step)
    return step

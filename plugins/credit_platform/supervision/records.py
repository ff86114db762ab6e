"""The record of what was done (信用监管执行信息): a measure a department applied to a subject.

Departments report them as files through the inbox (source ``measure_execution`` in
``ingest/sources.yml``) or one at a time with ``credit-platform measure record``. The command
first checks the record against the measures in force (``marts.fct_subject_measures``) and refuses
one whose measure did not apply to the subject on that day, with the reason; an accepted record is
written as a one-row file into the department's inbox folder and loaded like any other file, so
that the archive holds it and ``rebuild`` replays it. The next grading run judges every record
again (``marts.fct_measure_execution_records``) and counts it in ``marts.fct_measure_execution``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from credit_platform import uscc as credit_code
from credit_platform.ingest import config
from credit_platform.settings import TIMEZONE, today


class NotApplicable(ValueError):
    """The measure did not apply to the subject on the day: the record is refused."""


@dataclass(frozen=True)
class Execution:
    department_code: str
    uscc: str
    measure_code: str
    applied_date: dt.date
    applied_by: str = ""
    document_number: str = ""
    execution_note: str = ""
    subject_name: str = ""


def normalised(e: Execution) -> Execution:
    """The record with its code normalised and checked, and its date not in the future (Asia/Shanghai)."""
    code = credit_code.normalise(e.uscc)
    if not credit_code.is_valid(code):
        raise ValueError(f"统一社会信用代码无效 / not a valid unified social credit code: {e.uscc!r}")
    if e.department_code not in config.departments():
        raise ValueError(f"未知部门代码 / unknown department code {e.department_code!r}:"
                         f" one of {', '.join(sorted(config.departments()))}")  # fmt: skip
    measure = e.measure_code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,39}", measure):
        raise ValueError(f"措施代码格式不对 / not a measure code (letters, digits, hyphens): {e.measure_code!r}")
    if e.applied_date > today():
        raise ValueError(f"执行日期不能晚于今天 / the date applied {e.applied_date} is in the future")
    return Execution(e.department_code, code, measure, e.applied_date, e.applied_by.strip(),
                     e.document_number.strip(), e.execution_note.strip(), e.subject_name.strip())  # fmt: skip


def check_applies(url: str, e: Execution) -> dict:
    """The measure in force for the subject on the day (a row of marts.fct_subject_measures), or
    ``NotApplicable`` saying why not, in Chinese and English."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT industry_code, evaluation_period, grade_class, measure_name, due_from, due_until, must_record"
            " FROM marts.fct_subject_measures WHERE department_code = %s AND uscc = %s AND measure_code = %s"
            " ORDER BY due_from", (e.department_code, e.uscc, e.measure_code)).fetchall()  # fmt: skip
        for industry, period, cls, name, start, end, must in rows:
            if start <= e.applied_date <= end:
                return {"industry_code": industry, "evaluation_period": period, "grade_class": cls,
                        "measure_name": name, "due_from": start, "due_until": end, "must_record": must}  # fmt: skip
        if rows:
            spans = "; ".join(f"{r[4]}..{r[5]}" for r in rows)
            raise NotApplicable(f"{e.measure_code} 在 {e.applied_date} 不适用于 {e.uscc}（适用期 {spans}）/ the measure"
                                f" did not apply to the subject on {e.applied_date} (it did {spans})")  # fmt: skip
        known = conn.execute("SELECT 1 FROM marts.fct_subject_measures WHERE department_code = %s AND measure_code = %s"
                             " LIMIT 1", (e.department_code, e.measure_code)).fetchone()  # fmt: skip
        grades = conn.execute(
            "SELECT DISTINCT industry_code || ' ' || grade_class FROM marts.fct_subject_measures"
            " WHERE department_code = %s AND uscc = %s AND %s BETWEEN due_from AND due_until",
            (e.department_code, e.uscc, e.applied_date)).fetchall()  # fmt: skip
    if not known:
        raise NotApplicable(f"措施代码 {e.measure_code} 不在 {e.department_code} 的措施清单中，或尚未适用于任何主体 /"
                            f" {e.measure_code} is on no measures list of {e.department_code} that applies to a"
                            " graded subject: check the code against the list")  # fmt: skip
    held = ", ".join(g for (g,) in grades) or "无 / none"
    raise NotApplicable(f"{e.uscc} 的信用等级不适用措施 {e.measure_code}（{e.applied_date} 的等级类别：{held}）/"
                        f" the subject's grade did not bring {e.measure_code} on {e.applied_date}"
                        f" (its classes that day: {held})")  # fmt: skip


def write_file(inbox: Path, e: Execution, measure_name: str = "", now: dt.datetime | None = None) -> str:
    """Write the record as a one-row CSV into the department's inbox folder (headers from
    sources.yml); returns its inbox-relative path."""
    source = config.sources()["measure_execution"]
    header = {c.name: c.headers[0] for c in source.columns}
    values = {"uscc": e.uscc, "subject_name": e.subject_name, "measure_code": e.measure_code,
              "measure_name": measure_name, "applied_date": e.applied_date.isoformat(), "applied_by": e.applied_by,
              "document_number": e.document_number, "execution_note": e.execution_note}  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([header[k] for k in values])
    writer.writerow(list(values.values()))
    now = now or dt.datetime.now(ZoneInfo(TIMEZONE))
    rel = (f"departments/{e.department_code}/measure_executions_recorded_{now:%Y%m%dT%H%M%S%f}_"
           f"{e.uscc}_{e.measure_code}.csv")
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="") as fh:  # never overwrite a file already there
        fh.write(buf.getvalue())
    return rel

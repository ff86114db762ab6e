"""The demo's departments report what they did (信用监管执行信息) and hand out commitment letters
(信用承诺书), after the chain graded the city.

Execution records name the measures a grade brought, so they can only be written after grading:
the generator cannot send them with the other files. Here each department of the demo city
reports, as a clerk would after reading its measures workbook, a seeded share of the measures it
must record as applied today, and one record of a measure the subject's grade did not bring (a
careless clerk's mistake, which the platform must reject with its reason). The files go into the
department's inbox folder as ``measure_executions_<date>.csv`` and are loaded like any file; then
only the models that judge them are rebuilt (``stg_departments__measure_executions`` and what
depends on it), as the next grading run would.

Commitment letters state the grades' standards and measures, so they too follow the grading: one
department writes letters to a sample of its subjects (``report_commitments``); most sign and
return them, most of those consenting to publication, as rows of its commitments file; and one
subject withdraws the consent it gave to an earlier commitment. The commitments marts are
rebuilt; the platforms get the consented commitments, and withdraw the other, at the next
publication.

Objections and repair applications follow a grade too (``report_cases``): three departments each
receive a file of objections and take them through every step a clerk can (accepting, refusing,
reviewing, upholding with a corrected grade, rejecting, answering with a letter), leaving some
open and one past its reply deadline; and each files repair applications for its penalties, one
before its minimum publication period ended (refused as too early), one granted (a repair
decision), one rejected and one still open. The corrections they file count at the next grading.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.loader import load_files
from credit_platform.settings import paths, today
from credit_platform.warehouse.urls import libpq_url, url_for

HEADER = ["统一社会信用代码", "主体名称", "措施代码", "措施名称", "执行日期", "执行单位", "执行文书号"]


@dataclass
class Reported:
    files: list[str]
    records: int
    mistakes: int
    loaded: int


def report_measures(base_url: str, *, inbox: Path | None = None, share: float = 0.6, seed: int = 7,
                    project: Path | None = None) -> Reported:  # fmt: skip
    """Write, load and judge each department's execution records of today (Asia/Shanghai)."""
    inbox = inbox or paths().inbox
    day = today()
    with psycopg.connect(libpq_url(url_for("analyst", base_url))) as conn:
        due = conn.execute(
            "SELECT department_code, uscc, subject_name, measure_code, measure_name, applied_by, industry_code,"
            " grade_class FROM marts.fct_measure_execution WHERE status = 'due' AND due_from <= %s"
            " ORDER BY department_code, uscc, industry_code, measure_code", (day,)).fetchall()  # fmt: skip
        other = {}  # (department, industry, class) -> a measure of another class of the industry
        for dept, industry, cls, code, name in conn.execute(
                "SELECT DISTINCT ON (department_code, industry_code, grade_class) department_code, industry_code,"
                " grade_class, measure_code, measure_name FROM marts.fct_subject_measures"
                " ORDER BY department_code, industry_code, grade_class, measure_code"):  # fmt: skip
            other[(dept, industry, cls)] = (code, name)
    rng = random.Random(seed)
    by_department: dict[str, list[list]] = {}
    mistakes = 0
    for dept, uscc, name, code, measure, unit, _industry, _cls in due:
        rows = by_department.setdefault(dept, [])
        if rng.random() < share:
            number = f"{dept.upper()}-{len(rows) + 1:05d}"
            rows.append([uscc, name or "", code, measure, day.isoformat(), unit, number])
    for dept, rows in by_department.items():
        first = next((r for r in due if r[0] == dept), None)
        wrong = next((v for (d, ind, c), v in sorted(other.items())
                      if first and d == dept and ind == first[6] and c != first[7]), None)  # fmt: skip
        if wrong:
            rows.append([first[1], first[2] or "", wrong[0], wrong[1], day.isoformat(), first[5], ""])
            mistakes += 1
    files = [_send(inbox, f"departments/{dept}/measure_executions_{day:%Y%m%d}.csv", HEADER, rows)
             for dept, rows in sorted(by_department.items())]  # fmt: skip
    results = _load_and_build(base_url, inbox, files, ["stg_departments__measure_executions+"], project,
                              "the demo departments' execution records")  # fmt: skip
    return Reported(files, sum(len(r) for r in by_department.values()), mistakes,
                    sum(r.rows_loaded for r in results))  # fmt: skip


COMMITMENT_HEADER = ["统一社会信用代码", "主体名称", "承诺类型", "承诺内容", "承诺日期", "是否同意公开", "履约状态",
                     "承诺受理单位"]  # fmt: skip


@dataclass
class Committed:
    department: str
    letters: int
    pdfs: int
    signed: int
    consenting: int
    withdrawn: int
    folder: Path


def report_commitments(base_url: str, *, department: str = "zjj", sample: int = 30, signed_share: float = 0.7,
                       consent_share: float = 0.75, inbox: Path | None = None, outbox: Path | None = None,
                       seed: int = 7, project: Path | None = None) -> Committed:  # fmt: skip
    """Letters to ``sample`` subjects of ``department`` (HTML and PDF), the signed ones returned
    through its commitments file with one consent withdrawn, loaded and judged."""
    from credit_platform.supervision import letters

    inbox, outbox = inbox or paths().inbox, outbox or paths().outbox
    day = today()
    analyst = libpq_url(url_for("analyst", base_url))
    with psycopg.connect(analyst) as conn:
        subjects = [r[0] for r in conn.execute(
            "SELECT DISTINCT uscc FROM marts.fct_supervision_scopes WHERE department_code = %s AND NOT is_deregistered"
            " ORDER BY uscc", (department,))]  # fmt: skip
        consented = conn.execute(
            "SELECT uscc, subject_name, commitment_type, commitment_content, commitment_date, fulfilment_status,"
            " accepting_unit FROM marts.fct_commitments WHERE department_code = %s AND consent_to_publish"
            " AND commitment_type IS NOT NULL ORDER BY commitment_key LIMIT 1", (department,)).fetchone()  # fmt: skip
    rng = random.Random(seed)
    chosen = sorted(rng.sample(subjects, min(sample, len(subjects))))
    written = letters.write(analyst, libpq_url(url_for("publisher", base_url)), department, outbox, on=day,
                            usccs=chosen)  # fmt: skip
    with psycopg.connect(analyst) as conn:
        sent = conn.execute(
            "SELECT uscc, subject_name, letter_number FROM ops.commitment_letters WHERE letter_number = ANY(%s)"
            " ORDER BY uscc", (written.numbers,)).fetchall()  # fmt: skip
        unit = conn.execute("SELECT department_name FROM marts.dim_industries WHERE department_code = %s LIMIT 1",
                            (department,)).fetchone()[0]  # fmt: skip
    rows, consenting = [], 0
    for uscc, name, number in sent:
        if rng.random() < signed_share:
            consent = rng.random() < consent_share
            consenting += consent
            rows.append([uscc, name or "", letters.COMMITMENT_TYPE, f"{letters.COMMITMENT_CONTENT}（{number}）",
                         day.isoformat(), "是" if consent else "否", "履约中", unit])  # fmt: skip
    signed = len(rows)
    fulfilment = {"kept": "已履约", "broken": "未履约", "pending": "履约中"}
    if consented:  # the same commitment again, its consent withdrawn
        uscc, name, ctype, content, cdate, status, accepting = consented
        rows.append([uscc, name or "", ctype, content or "", cdate.isoformat(), "否", fulfilment.get(status, "履约中"),
                     accepting or ""])  # fmt: skip
    rel = _send(inbox, f"departments/{department}/commitments_signed_{day:%Y%m%d}.csv", COMMITMENT_HEADER, rows)
    _load_and_build(base_url, inbox, [rel], ["fct_commitments", "fct_shared_records"], project,
                    "the demo's signed commitments")  # fmt: skip
    return Committed(department, written.letters, written.pdfs, signed, consenting, int(consented is not None),
                     written.folder)  # fmt: skip


@dataclass
class Partners:
    recipients: list[str]
    authorisations: int


def authorise_partners(base_url: str, *, share: float = 0.1, seed: int = 7) -> Partners:
    """The 信用+ partners of ``publication.yml`` as recipients, each authorised by a seeded share of
    the city's subjects (as if they had signed the partner's authorisation), before publication."""
    from credit_platform.publish import config
    from credit_platform.warehouse import access

    with psycopg.connect(libpq_url(url_for("analyst", base_url))) as conn:
        subjects = [u for (u,) in conn.execute("SELECT uscc FROM marts.dim_subjects ORDER BY uscc")]
    done = Partners([], 0)
    for i, programme in enumerate(config.load().programmes.values()):
        rng = random.Random(seed + i)
        access.add_recipient(base_url, programme.recipient)
        chosen = sorted(rng.sample(subjects, int(len(subjects) * share)))
        done.authorisations += access.authorise(base_url, programme.recipient, chosen,
                                                reference=f"{programme.title} 授权书 (demo)")  # fmt: skip
        done.recipients.append(programme.recipient)
    return done


def _send(inbox: Path, rel: str, header: list[str], rows: list[list]) -> str:
    """A department's CSV file ``rel`` in the inbox (kept when there: a second demo run the same day
    sends nothing again)."""
    path = inbox / rel
    if not path.exists():
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    return rel


def _load(loader_url: str, files: list[str], inbox: Path, outbox: Path | None = None) -> tuple[list, list[str]]:
    """Load ``files`` as the loader; the departments get their receipts, as after any load."""
    from credit_platform.receipts.write import last_batch, write_since_logged

    after = last_batch(loader_url)
    results, failures = load_files(loader_url, files, inbox=inbox)
    write_since_logged(loader_url, after, outbox or paths().outbox)
    return results, failures


def _load_and_build(base_url: str, inbox: Path, files: list[str], models: list[str], project: Path | None,
                    what: str) -> list:  # fmt: skip
    """Load ``files`` as the loader, then build ``models`` (and their tests), as the next grading run would."""
    results, failures = _load(libpq_url(url_for("loader", base_url)), files, inbox)
    if failures:
        raise RuntimeError(f"{what} did not load: " + "; ".join(failures))
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", *models], base_url=base_url,
                  capture=True, project=project)  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"dbt could not judge {what}:\n" + res.stdout[-3000:] + res.stderr[-2000:])
    return results


@dataclass
class Cases:
    objections: int
    repairs: int
    steps: int
    answers: int
    overdue: int


#: The demo's objections per department: (days before today received, the states it goes through).
OBJECTION_PLAN = [
    (2, []),
    (6, ["accepted"]),
    (9, ["refused:out_of_time", "answered"]),
    (12, ["accepted", "under_review"]),
    (16, ["accepted", "under_review", "upheld"]),
    (20, ["accepted", "under_review", "rejected", "answered"]),
    (26, ["accepted", "under_review", "partly_upheld", "answered"]),
    (45, ["accepted", "under_review"]),  # not answered within its deadline: overdue
]
REPAIR_PLAN = [["accepted", "under_review", "upheld", "answered"], ["accepted", "under_review", "rejected"], []]


def report_cases(base_url: str, *, departments: tuple[str, ...] = ("scjgj", "zjj", "swj"), inbox: Path | None = None,
                 outbox: Path | None = None, seed: int = 7) -> Cases:  # fmt: skip
    """Objections received as a file by each of ``departments`` and repair applications filed one by
    one, each taken through the steps of its plan, the answers written as letters."""
    from credit_platform.grade_levels import GRADES
    from credit_platform.ingest import config
    from credit_platform.redress import cases

    inbox, outbox = inbox or paths().inbox, outbox or paths().outbox
    day = today()
    urls = {role: libpq_url(url_for(role, base_url)) for role in ("analyst", "loader", "publisher", "transformer")}
    rng = random.Random(seed)
    source = config.sources()["objection"]
    header = [c.headers[0] for c in source.columns]
    done = Cases(0, 0, 0, 0, 0)

    def take(kind: str, department: str, number: str, received: dt.date, plan: list[str], grade: str | None) -> None:
        for i, step in enumerate(plan):
            to, _, code = step.partition(":")
            on = min(day, received + dt.timedelta(days=2 * (i + 1)))
            corrects = kind == "objection" and to in ("upheld", "partly_upheld")
            taken = cases.decide(urls, inbox, outbox, kind, department, number, to, "演示办理人",
                                 f"{cases.STATE_LABELS[kind][to]}：依据核查情况", on=on, reason_code=code or None,
                                 grade=grade if corrects else None)  # fmt: skip
            done.steps += 1
            done.answers += to == "answered"
            assert taken.to_state == to

    for department in departments:
        with psycopg.connect(urls["analyst"]) as conn:
            graded = conn.execute(
                "SELECT g.uscc, coalesce(s.subject_name, ''), g.industry_code, g.evaluation_period, g.grade"
                " FROM marts.fct_industry_credit_grades AS g JOIN marts.dim_industries AS i USING (industry_code)"
                " LEFT JOIN marts.dim_subjects AS s USING (uscc) WHERE i.department_code = %s"
                " AND g.evaluation_period = (SELECT max(evaluation_period) FROM marts.fct_industry_credit_grades)"
                " ORDER BY g.uscc, g.industry_code", (department,)).fetchall()  # fmt: skip
            penalties = conn.execute(
                "SELECT uscc, record_reference, may_apply_from FROM marts.fct_repairable_records WHERE department_code"
                " = %s AND record_type = 'penalty' AND repaired_date IS NULL AND publication_end_date > %s"
                " ORDER BY record_reference", (department, day)).fetchall()  # fmt: skip
        chosen = rng.sample(graded, min(len(OBJECTION_PLAN), len(graded)))
        rows, plans = [], []
        for n, ((received_days, plan), (uscc, name, industry, period, grade)) in enumerate(
                zip(OBJECTION_PLAN, chosen, strict=False), start=1):  # fmt: skip
            received = day - dt.timedelta(days=received_days)
            number = f"YY-{department.upper()}-DEMO-{n:02d}"
            rows.append([number, uscc, name, industry, period, "评价所依据的信息有误，请求更正", f"证明材料 {n}",
                         "书面", received.isoformat()])  # fmt: skip
            better = GRADES[max(0, GRADES.index(grade) - 1)]
            plans.append((number, received, plan, better))
        if rows:
            rel = _send(inbox, f"departments/{department}/objections_demo_{day:%Y%m%d}.csv", header, rows)
            results, failures = _load(urls["loader"], [rel], inbox, outbox)
            if failures:
                raise RuntimeError("the demo's objections did not load: " + "; ".join(failures))
            done.objections += results[0].rows_loaded if results else 0
            for number, received, plan, better in plans:
                if cases.case(urls["analyst"], "objection", department, number)["state"] == "received":
                    take("objection", department, number, received, plan, better)
        early = [p for p in penalties if p[2] > day]
        ready = [p for p in penalties if p[2] <= day - dt.timedelta(days=10)]
        filings = ([(early[0], day, None)] if early else []) + [
            (p, max(p[2], day - dt.timedelta(days=20)) + dt.timedelta(days=1 + i), plan)
            for i, (p, plan) in enumerate(zip(ready, REPAIR_PLAN, strict=False))]  # fmt: skip
        for n, ((uscc, reference, _may), received, plan) in enumerate(filings, start=1):
            number = f"XF-{department.upper()}-DEMO-{n:02d}"
            f = cases.checked(cases.Filing("repair", department, number, uscc, min(received, day),
                                           "已整改到位，申请信用修复", record_type="penalty",
                                           record_reference=reference))  # fmt: skip
            try:
                existing = cases.case(urls["analyst"], "repair", department, number)
            except cases.CaseNotFound:
                existing = None
            if existing is None:
                filed = cases.file_case(urls, inbox, f)
                done.repairs += 1
                if filed.refused is None and plan:
                    take("repair", department, number, f.received_date, plan, None)
    with psycopg.connect(urls["analyst"]) as conn:
        done.overdue = conn.execute("SELECT (SELECT count(*) FROM marts.fct_objections WHERE is_overdue)"
                                    " + (SELECT count(*) FROM marts.fct_repair_applications WHERE is_overdue)"
                                    ).fetchone()[0]  # fmt: skip
    return done

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
"""

from __future__ import annotations

import csv
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


def _load_and_build(base_url: str, inbox: Path, files: list[str], models: list[str], project: Path | None,
                    what: str) -> list:  # fmt: skip
    """Load ``files`` as the loader, then build ``models`` (and their tests), as the next grading run would."""
    results, failures = load_files(libpq_url(url_for("loader", base_url)), files, inbox=inbox)
    if failures:
        raise RuntimeError(f"{what} did not load: " + "; ".join(failures))
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", *models], base_url=base_url,
                  capture=True, project=project)  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"dbt could not judge {what}:\n" + res.stdout[-3000:] + res.stderr[-2000:])
    return results

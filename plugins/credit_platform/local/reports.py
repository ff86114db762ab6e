"""The demo's departments report what they did (信用监管执行信息), after the chain graded the city.

Execution records name the measures a grade brought, so they can only be written after grading:
the generator cannot send them with the other files. Here each department of the demo city
reports, as a clerk would after reading its measures workbook, a seeded share of the measures it
must record as applied today, and one record of a measure the subject's grade did not bring (a
careless clerk's mistake, which the platform must reject with its reason). The files go into the
department's inbox folder as ``measure_executions_<date>.csv`` and are loaded like any file; then
only the models that judge them are rebuilt (``stg_departments__measure_executions`` and what
depends on it), as the next grading run would.
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
    files = []
    for dept, rows in sorted(by_department.items()):
        rel = f"departments/{dept}/measure_executions_{day:%Y%m%d}.csv"
        path = inbox / rel
        if not path.exists():  # a second demo run the same day sends nothing again
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(HEADER)
                w.writerows(rows)
        files.append(rel)
    results, failures = load_files(libpq_url(url_for("loader", base_url)), files, inbox=inbox)
    if failures:
        raise RuntimeError("the demo departments' execution records did not load: " + "; ".join(failures))
    judge = ["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "stg_departments__measure_executions+"]
    res = run_dbt(judge, base_url=base_url, capture=True, project=project)
    if res.returncode != 0:
        raise RuntimeError("dbt could not judge the execution records:\n" + res.stdout[-3000:] + res.stderr[-2000:])
    return Reported(files, sum(len(r) for r in by_department.values()), mistakes,
                    sum(r.rows_loaded for r in results))  # fmt: skip

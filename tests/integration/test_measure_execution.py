"""The record of what was done (#18, point 3): departments report the measures they applied
(信用监管执行信息) through the inbox or ``credit-platform measure record``; ``marts.fct_measure_execution``
says per measure whether it was applied on time, late, or is overdue, counted in working days on
the warehouse's calendar, and a record for a measure that did not apply is rejected with its reason.

The city was graded today; the test moves its grade history 60 days back (as if graded then) and
lays a calendar of its own over the window, so that every deadline is known by hand."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from conftest import department_file

from credit_platform import cli
from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.loader import load_file
from credit_platform.local import chain
from credit_platform.local.reports import report_measures
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

SHIFT = 60  # days the grade history is moved back
HOLIDAYS = 3  # the first working days after due_from made holidays in the test's calendar


def _rows(url: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _build(city, as_of: dt.date) -> None:
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "fct_grade_history+",
                   "stg_departments__measure_executions+", "stg_ops__work_calendar+",
                   "--vars", json.dumps({"measures_as_of": as_of.isoformat()})],
                  base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("execution") as c:
        with psycopg.connect(c["admin"]) as conn:
            conn.execute("UPDATE history.grade_versions SET valid_from = valid_from - make_interval(days => %s),"
                         " valid_to = valid_to - make_interval(days => %s)", (SHIFT, SHIFT))  # fmt: skip
            ((due_from,),) = conn.execute(
                "SELECT min((valid_from AT TIME ZONE 'Asia/Shanghai')::date) FROM history.grade_versions").fetchall()
            # The test's calendar: every day a working day but the three after due_from.
            conn.execute("UPDATE ops.work_calendar SET workday = true")
            conn.execute("UPDATE ops.work_calendar SET workday = false WHERE day > %s AND day <= %s",
                         (due_from, due_from + dt.timedelta(days=HOLIDAYS)))  # fmt: skip
        c["due_from"] = due_from
        _build(c, due_from)  # the measures as if graded SHIFT days ago
        yield c


def _due(city, department: str, n: int, kind: str) -> list[tuple]:
    """``n`` measures to record of one department, each of another subject, in force since due_from."""
    return _rows(city["admin"],
                 "SELECT DISTINCT ON (uscc) uscc, measure_code, grade_class, industry_code, record_within_workdays"
                 " FROM marts.fct_subject_measures WHERE department_code = %s AND must_record AND measure_kind = %s"
                 " AND due_from = %s AND ended_on IS NULL ORDER BY uscc, measure_code LIMIT %s",
                 (department, kind, city["due_from"], n))  # fmt: skip


HEADER = ["统一社会信用代码", "措施代码", "执行日期", "执行单位", "执行文书号"]


def _write(city, department: str, name: str, rows: list[list]) -> str:
    return department_file(city, department, name, HEADER, rows)


def test_due_on_time_late_overdue_and_rejected_on_a_fixed_calendar(city):
    department = "scjgj"
    on_time, late, overdue, lapsed_free = _due(city, department, 4, "restrictive")
    (incentive,) = _due(city, department, 1, "incentive")
    frm = city["due_from"]

    def deadline(days: int) -> dt.date:  # every day a working day but the three holidays after frm
        return frm + dt.timedelta(days=days + HOLIDAYS)

    other_class = _rows(city["admin"],
                        "SELECT measure_code FROM marts.fct_subject_measures WHERE department_code = %s"
                        " AND industry_code = %s AND grade_class <> %s LIMIT 1",
                        (department, on_time[3], on_time[2]))  # fmt: skip
    assert other_class, "the city has subjects of one class only in the industry"
    other_department = _rows(city["admin"], "SELECT measure_code FROM marts.fct_subject_measures"
                                            " WHERE department_code <> %s LIMIT 1", (department,))  # fmt: skip
    rel = _write(city, department, "measure_executions_2025.csv", [
        [on_time[0], on_time[1].lower(), deadline(on_time[4]).isoformat(), "执法检查科", "WS-1"],  # the last day
        [late[0], late[1], (deadline(late[4]) + dt.timedelta(days=2)).isoformat(), "执法检查科", "WS-2"],
        [incentive[0], incentive[1], (frm + dt.timedelta(days=1)).isoformat(), "审批科", "WS-3"],  # on a holiday
        [lapsed_free[0], lapsed_free[1], (frm - dt.timedelta(days=1)).isoformat(), "", ""],  # before it was due
        [on_time[0], other_class[0][0], frm.isoformat(), "", ""],
        [on_time[0], other_department[0][0], frm.isoformat(), "", ""],
        [on_time[0], "SCJGJ-NO-SUCH-01", frm.isoformat(), "", ""],
    ])
    result = load_file(libpq_url(url_for("loader", city["url"])), rel, inbox=city["inbox"],
                       archive_dir=city["archive"])  # fmt: skip
    assert result.status == "loaded" and result.rows_loaded == 7 and result.rows_rejected == 0, result
    as_of = frm + dt.timedelta(days=40)
    _build(city, as_of)

    records = {(r[0], r[1]): r[2:] for r in _rows(
        city["admin"], "SELECT uscc, measure_code, accepted, reject_code, reject_reason"
                       " FROM marts.fct_measure_execution_records WHERE source_file = %s", (rel,))}  # fmt: skip
    assert len(records) == 7
    for key in [(on_time[0], on_time[1]), (late[0], late[1]), (incentive[0], incentive[1])]:
        assert records[key][0] is True, key
    assert records[(lapsed_free[0], lapsed_free[1])][1] == "outside_period"
    assert records[(on_time[0], other_department[0][0])][1] == "other_department"
    assert records[(on_time[0], "SCJGJ-NO-SUCH-01")][1] == "unknown_measure"
    assert records[(on_time[0], other_class[0][0])][1] == "not_applicable"
    assert all(" / " in r[2] for r in records.values() if not r[0])  # Chinese and English

    status = {(r[0], r[1]): r[2:] for r in _rows(
        city["admin"], "SELECT uscc, measure_code, status, deadline, applied_on, workdays_late, status_on"
                       " FROM marts.fct_measure_execution WHERE department_code = %s", (department,))}  # fmt: skip
    assert status[(on_time[0], on_time[1])][:3] == ("applied_on_time", deadline(on_time[4]), deadline(on_time[4]))
    assert status[(late[0], late[1])][:4] == ("applied_late", deadline(late[4]),
                                              deadline(late[4]) + dt.timedelta(days=2), 2)  # fmt: skip
    assert status[(incentive[0], incentive[1])][0] == "applied_on_time"
    # nothing recorded in force (the record before it was due does not count): overdue since the deadline
    for u, m, *_, days in (overdue, lapsed_free):
        assert status[(u, m)][:4] == ("overdue", deadline(days), None, (as_of - deadline(days)).days)
    assert {s[4] for s in status.values()} == {as_of}
    # before the deadline nothing is overdue yet
    _build(city, frm + dt.timedelta(days=HOLIDAYS + 1))
    assert {s for (s,) in _rows(city["admin"], "SELECT DISTINCT status FROM marts.fct_measure_execution"
                                               " WHERE department_code = %s", (department,))} <= {
        "due", "applied_on_time", "applied_late"}  # fmt: skip


def test_measure_record_checks_the_measure_then_loads_it_through_the_inbox(city, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", city["url"])
    department = "zjj"
    (due,) = _due(city, department, 1, "restrictive")
    wrong = _rows(city["admin"], "SELECT measure_code FROM marts.fct_subject_measures WHERE department_code = %s"
                                 " AND industry_code = %s AND grade_class <> %s LIMIT 1",
                  (department, due[3], due[2]))  # fmt: skip
    base = ["measure", "record", "--department", department, "--uscc", due[0]]
    files = set((city["inbox"] / "departments" / department).iterdir())
    assert cli.main([*base, "--measure", wrong[0][0], "--date", city["due_from"].isoformat()]) == 1
    assert "不适用" in capsys.readouterr().err
    assert cli.main([*base, "--measure", due[1], "--date", (city["due_from"] - dt.timedelta(days=3)).isoformat()]) == 1
    assert "适用期" in capsys.readouterr().err
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    assert cli.main([*base, "--measure", due[1], "--date", future]) == 2
    assert cli.main([*base, "--measure", due[1], "--date", "2025-13-01"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert cli.main([*base, "--measure", "../../etc", "--date", city["due_from"].isoformat()]) == 2
    assert set((city["inbox"] / "departments" / department).iterdir()) == files  # nothing written when refused

    assert cli.main([*base, "--measure", due[1].lower(), "--date", city["due_from"].isoformat(),
                     "--by", "执法检查科", "--document", "怀住建罚〔2025〕1号"]) == 0  # fmt: skip
    assert "已记录 / recorded" in capsys.readouterr().err
    (new,) = set((city["inbox"] / "departments" / department).iterdir()) - files
    ((code, day, doc, status),) = _rows(
        city["admin"], "SELECT r.measure_code, r.applied_date, r.document_number, b.status"
                       " FROM raw.measure_executions r JOIN ops.load_batches b USING (batch_id)"
                       " WHERE b.source_file = %s",
        (f"departments/{department}/{new.name}",))  # fmt: skip
    assert (code, day, doc, status) == (due[1], city["due_from"].isoformat(), "怀住建罚〔2025〕1号", "loaded")

    # The same record sent again with its document number corrected: one record, the newer version.
    rel = _write(city, department, "measure_executions_corrected.csv",
                 [[due[0], due[1], city["due_from"].isoformat(), "执法检查科", "怀住建罚〔2025〕1号（更正）"]])
    result = load_file(libpq_url(url_for("loader", city["url"])), rel, inbox=city["inbox"],
                       archive_dir=city["archive"])  # fmt: skip
    assert result.status == "loaded" and result.rows_loaded == 1, result
    current = _rows(city["admin"], "SELECT document_number FROM staging.stg_departments__measure_executions"
                                   " WHERE uscc = %s AND measure_code = %s AND superseded_by_batch_id IS NULL",
                    (due[0], due[1]))  # fmt: skip
    assert current == [("怀住建罚〔2025〕1号（更正）",)]


def test_the_demo_departments_reports_are_loaded_judged_and_summarised(city):
    """make demo's last step: each department reports a share of its due measures as applied today,
    and one measure the subject's grade did not bring, which is rejected as not applicable."""
    reported = report_measures(city["url"], inbox=city["inbox"], project=city["project"])
    assert reported.records > reported.mistakes > 0 and reported.loaded == reported.records, reported
    verdicts = _rows(city["admin"], "SELECT accepted, reject_code, count(*) FROM marts.fct_measure_execution_records"
                                    " WHERE source_file = ANY(%s) GROUP BY 1, 2", (reported.files,))  # fmt: skip
    assert dict(((a, r), n) for a, r, n in verdicts) == {
        (True, None): reported.records - reported.mistakes, (False, "not_applicable"): reported.mistakes}
    with psycopg.connect(city["admin"]) as conn:
        summary = conn.execute(chain._query("measure_execution")).fetchall()
    assert len(summary) >= reported.mistakes
    for _dept, to_record, on_time, late, overdue, due, _next, rejected in summary:
        assert to_record == on_time + late + overdue + due and rejected >= 1
    # reported today, weeks after the deadlines: applied late
    assert sum(s[3] for s in summary) >= reported.records - reported.mistakes - 1

"""Working days: chinesecalendar where it knows the year, the holiday table after, Monday to Friday
with a warning for a year in neither."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from credit_platform import workdays

D = dt.date


def test_statutory_holidays_and_days_worked_in_lieu():
    assert not workdays.is_workday(D(2025, 10, 1)) and not workdays.is_workday(D(2025, 10, 8))
    assert workdays.is_workday(D(2025, 9, 28))  # a Sunday worked in lieu (调休)
    assert workdays.is_workday(D(2025, 10, 9))
    assert not workdays.is_workday(D(2026, 2, 17))  # Spring Festival 2026
    assert workdays.is_workday(D(2025, 10, 11))  # a Saturday worked in lieu
    # 20 working days from 2025-09-26 (a Friday): Sep 28, 29, 30, Oct 9, 10, 11, then three weeks
    # and four days; the National Day holiday (Oct 1-8) counts for nothing
    assert workdays.add_workdays(D(2025, 9, 26), 20) == D(2025, 10, 30)
    assert workdays.workdays_between(D(2025, 9, 26), D(2025, 10, 30)) == 20
    assert workdays.add_workdays(D(2025, 9, 26), 0) == D(2025, 9, 26)


def test_a_later_year_from_the_table(tmp_path, monkeypatch):
    table = tmp_path / "holidays.yml"
    table.write_text("years:\n  2031:\n    holidays: [2031-10-01, 2031-10-02, 2031-10-03]\n"
                     "    workdays: [2031-09-28]\n", encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("CREDIT_HOLIDAYS_FILE", str(table))
    assert not workdays.is_workday(D(2031, 10, 1))  # a Wednesday off
    assert workdays.is_workday(D(2031, 9, 28))  # a Sunday worked
    assert workdays.is_workday(D(2031, 10, 6))


def test_a_year_in_neither_place_warns_and_counts_monday_to_friday(caplog, monkeypatch, tmp_path):
    empty = tmp_path / "none.yml"
    empty.write_text("years: {}\n", encoding="utf-8")
    monkeypatch.setenv("CREDIT_HOLIDAYS_FILE", str(empty))
    with caplog.at_level(logging.WARNING, logger="credit_platform.workdays"):
        assert workdays.add_workdays(D(2035, 12, 28), 5) == D(2036, 1, 4)  # no crash, Mon-Fri
    assert "no holiday calendar for 2035" in caplog.text and "no holiday calendar for 2036" in caplog.text


def test_a_wrong_table_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yml"
    bad.write_text("years:\n  2032:\n    holidays: [2033-01-01]\n", encoding="utf-8")
    monkeypatch.setenv("CREDIT_HOLIDAYS_FILE", str(bad))
    with pytest.raises(ValueError, match="year 2032 lists dates of another year"):
        workdays.is_workday(D(2032, 5, 5))

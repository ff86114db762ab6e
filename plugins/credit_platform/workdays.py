"""Working days (工作日) in mainland China, for deadlines such as publishing inspection results
within 20 working days (双随机、一公开).

A day is a working day by the ``chinesecalendar`` package (statutory holidays and the weekend days
worked in lieu, 调休) for the years it knows, and by ``holidays.yml`` beside this module for later
years (``CREDIT_HOLIDAYS_FILE`` names another file). For a year in neither, working days are Monday
to Friday and a warning says that the year's holidays are missing: a deadline is never refused
for want of a calendar.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from functools import cache
from pathlib import Path

import chinese_calendar
import yaml

log = logging.getLogger(__name__)


@cache
def _package_years() -> frozenset[int]:
    return frozenset(d.year for d in chinese_calendar.constants.holidays)


@cache
def _table(path: str) -> dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out = {}
    for year, days in (data.get("years") or {}).items():
        holidays = frozenset(_date(d, path) for d in (days or {}).get("holidays") or [])
        workdays = frozenset(_date(d, path) for d in (days or {}).get("workdays") or [])
        wrong = [d for d in holidays | workdays if d.year != int(year)]
        if wrong:
            raise ValueError(f"{path}: year {year} lists dates of another year: {sorted(wrong)[:3]}")
        out[int(year)] = (holidays, workdays)
    return out


def _date(value, path: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{path}: {value!r} is not a date (YYYY-MM-DD)") from None


def table_path() -> str:
    return os.environ.get("CREDIT_HOLIDAYS_FILE") or str(Path(__file__).with_name("holidays.yml"))


_warned: set[int] = set()


def is_workday(day: dt.date) -> bool:
    if day.year in _package_years():
        return chinese_calendar.is_workday(day)
    table = _table(table_path())
    if day.year in table:
        holidays, workdays = table[day.year]
        return day in workdays or (day.weekday() < 5 and day not in holidays)
    if day.year not in _warned:
        _warned.add(day.year)
        log.warning("no holiday calendar for %s (chinesecalendar knows %s-%s; add it to %s): counting Monday to"
                    " Friday as working days", day.year, min(_package_years()), max(_package_years()),
                    table_path())  # fmt: skip
    return day.weekday() < 5


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted); n >= 0."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n:
        day += dt.timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return count


def source_of(day: dt.date) -> str:
    """Which calendar decides ``day``: ``chinesecalendar``, ``holidays.yml`` or ``weekdays``."""
    if day.year in _package_years():
        return "chinesecalendar"
    return "holidays.yml" if day.year in _table(table_path()) else "weekdays"


def calendar_years(today: dt.date | None = None) -> range:
    """The years written to ``ops.work_calendar``: from 2015 (the oldest records a grading reads)
    to two years after ``today``, so that every deadline counted from a current date falls inside."""
    from credit_platform.settings import today as city_today

    today = today or city_today()
    known = _package_years() | frozenset(_table(table_path()))
    return range(2015, max(today.year + 2, *known) + 1)


def write_calendar(conn, years: range | None = None) -> int:
    """Write the working days of ``years`` to ``ops.work_calendar`` (psycopg connection, committed
    by the caller); rows already right are left alone. Returns the number of days written."""
    years = years or calendar_years()
    day, last = dt.date(years.start, 1, 1), dt.date(years.stop - 1, 12, 31)
    rows = []
    while day <= last:
        source = source_of(day)
        rows.append((day, day.weekday() < 5 if source == "weekdays" else is_workday(day), source))
        day += dt.timedelta(days=1)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE work_calendar_new (LIKE ops.work_calendar) ON COMMIT DROP")
        with cur.copy("COPY work_calendar_new (day, workday, calendar_source) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            "INSERT INTO ops.work_calendar AS c SELECT * FROM work_calendar_new ON CONFLICT (day) DO UPDATE"
            " SET workday = EXCLUDED.workday, calendar_source = EXCLUDED.calendar_source"
            " WHERE (c.workday, c.calendar_source) IS DISTINCT FROM (EXCLUDED.workday, EXCLUDED.calendar_source)"
        )
        return cur.rowcount

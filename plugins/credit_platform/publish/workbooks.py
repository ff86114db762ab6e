"""Each department's Excel workbooks (内部使用: a department sees its own): its subjects' grades,
and the supervision measures those grades bring (分级分类监管措施, ``marts.fct_subject_measures``).

One sheet, Chinese headers (grade, class, main reasons ...; publication.yml ``workbooks``), ready to
print: frozen header row, filter, landscape A4, the header repeated on every page, page numbers. Safe to open:

* every value is written as text or a number, never as a formula; a text beginning with ``=``,
  ``+``, ``-`` or ``@`` is also marked quote-prefixed (Excel's own leading apostrophe), so editing
  the cell cannot turn it into a formula either;
* USCCs and dates are text cells with the text number format, so Excel neither rounds nor
  reformats them;
* written by openpyxl as UTF-8 XML: Chinese displays as it is.

A workbook is written only when its content changed (content sha256 in the idempotency key), and
recorded in ``ops.publications`` as platform ``department:<code>``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from credit_platform.publish import formats, transport

DANGEROUS = ("=", "+", "-", "@")


def columns(name: str = "grades") -> tuple[tuple[str, str, int, str], ...]:
    """A workbook's (column, header, width, kind) from publication.yml (``workbooks``); kind text,
    number or wrap. The grade workbook's columns are those of ``publish.grades``."""
    from credit_platform.publish.config import load

    return load().workbooks[name].columns


@dataclass
class Workbooks:
    department_code: str
    period: str
    path: Path
    rows: int
    status: str  # written, unchanged
    workbook: str = "grades"  # the publication.yml workbook (and dataset): grades, measures, inspection_list ...


#: measure_kind (seed supervision_measures) as the measures workbook names it
MEASURE_KINDS = {"incentive": "激励", "normal": "常规", "restrictive": "约束", "disciplinary": "惩戒"}

# The measures of the grades a department's grade workbook lists: joined to publish.grades, so a
# subject withheld there (an ID number in its record) is withheld here too. Columns as in
# publication.yml ``workbooks.measures``.
# The reason a measure ended is the text of the grade version that ended it: an adjustment's reason or
# a re-grading's, typed by a clerk. One that holds a resident ID number is not shown.
MASKED_REASON = ("（原因含身份证号码，未显示；请查阅评价历史 / the reason holds a resident ID number:"
                 " see the grade history）")

_MEASURES = """
SELECT g.department_code, m.uscc, g.subject_name, g.industry_name, m.grade, m.grade_class, m.measure_code,
       m.measure_name, coalesce(%(kinds)s::jsonb ->> m.measure_kind, m.measure_kind),
       m.due_from, m.due_until, CASE WHEN m.must_record THEN '是' ELSE '否' END, x.deadline, x.applied_on,
       coalesce(x.status_label, ''),
       CASE WHEN ops.has_resident_id(m.ended_because) THEN %(masked)s ELSE coalesce(m.ended_because, '') END,
       m.applied_by, m.legal_basis
  FROM marts.fct_subject_measures AS m
  JOIN publish.grades AS g
    ON g.uscc = m.uscc AND g.industry_code = m.industry_code AND g.evaluation_period = m.evaluation_period
  LEFT JOIN marts.fct_measure_execution AS x
    ON x.uscc = m.uscc AND x.industry_code = m.industry_code AND x.evaluation_period = m.evaluation_period
   AND x.class_spell = m.class_spell AND x.measure_code = m.measure_code
 WHERE m.evaluation_period = %(period)s
 ORDER BY g.department_code, m.industry_code, m.uscc, m.class_spell, m.measure_code
"""


def write(url: str, outbox: Path, period: str | None = None) -> list[Workbooks]:
    """Write every department's workbook for ``period`` (default: the latest graded period), as
    the publisher at ``url``."""
    with psycopg.connect(url) as conn:
        period = period or conn.execute(
            "SELECT evaluation_period FROM publish.grades ORDER BY period_end_date DESC LIMIT 1").fetchone()[0]
        cols = ", ".join(c for c, *_ in columns())
        by_department: dict[str, list[tuple]] = {}
        for dept, *values in conn.execute(
            f"SELECT department_code, {cols} FROM publish.grades WHERE evaluation_period = %s"  # noqa: S608 - constant
            " ORDER BY department_code, industry_code, uscc", (period,)):  # fmt: skip
            by_department.setdefault(dept, []).append(tuple(values))
        out = []
        for dept, rows in by_department.items():
            out.append(_one(conn, outbox, dept, period, rows))
        measures: dict[str, list[tuple]] = {}
        basis: dict[str, dict[str, tuple]] = {}  # department -> measure -> its row on the 措施依据 sheet
        params = {"period": period, "kinds": json.dumps(MEASURE_KINDS), "masked": MASKED_REASON}
        for dept, *values, applied_by, legal_basis in conn.execute(_MEASURES, params):
            measures.setdefault(dept, []).append(tuple(values))
            basis.setdefault(dept, {})[values[5]] = (values[5], values[6], values[7], applied_by, legal_basis)
        for dept, rows in measures.items():
            sheet = [basis[dept][code] for code in sorted(basis[dept])]
            out.append(deliver(conn, outbox, dept, "measures", period, f"supervision_measures_{period}_{dept}.xlsx",
                               rows, lambda r, b=sheet: render(r, period=period, workbook="measures",
                                                               also={"measure_basis": b}), also=sheet))  # fmt: skip
        conn.commit()
        return out


def _one(conn, outbox: Path, dept: str, period: str, rows: list[tuple]) -> Workbooks:
    return deliver(conn, outbox, dept, "grades", period, f"credit_grades_{period}_{dept}.xlsx", rows,
                   lambda r: render(r, period=period))  # fmt: skip


def deliver(conn, outbox: Path, dept: str, dataset: str, period: str, name: str, rows: list[tuple],
            make: Callable[[list[tuple]], bytes], also: list[tuple] = ()) -> Workbooks:  # fmt: skip
    """Drop the workbook ``make(rows)`` with its manifest into the department's outbox folder and
    record it in ``ops.publications``, unless the same content (``rows`` and the rows of its other
    sheets, ``also``) was delivered already."""
    content = hashlib.sha256(json.dumps([[formats.text(v) for v in r] for r in [*rows, *also]], ensure_ascii=False)
                             .encode()).hexdigest()  # fmt: skip
    key = f"department:{dept}.{dataset}.{period}.{content[:32]}"
    folder = outbox / "departments" / dept
    seen = conn.execute("SELECT output_path FROM ops.publications WHERE idempotency_key = %s", (key,)).fetchone()
    if seen and Path(seen[0]).exists():
        return Workbooks(dept, period, Path(seen[0]), len(rows), "unchanged", dataset)
    data = make(rows)
    digest = hashlib.sha256(data).hexdigest()
    manifest = json.dumps({"platform": f"department:{dept}", "dataset": dataset, "period": period, "file": name,
                           "format": "xlsx", "bytes": len(data), "sha256": digest, "rows": {"total": len(rows)},
                           "content_sha256": content}, ensure_ascii=False, indent=1).encode()  # fmt: skip
    receipt = transport.drop_file(folder, name, data, manifest)
    conn.execute(
        "INSERT INTO ops.publications (platform, disclosure_level, period, dataset, idempotency_key, format, transport,"
        " output_path, manifest_path, file_sha256, row_count, upserts, withdrawals, status, attempts, receipt,"
        " sent_at, acknowledged_at) VALUES (%s, 'internal', %s, %s, %s, 'xlsx', 'file', %s, %s, %s, %s, %s, 0,"
        " 'acknowledged', 1, %s, now(), now()) ON CONFLICT (idempotency_key) DO UPDATE SET output_path ="
        " EXCLUDED.output_path, file_sha256 = EXCLUDED.file_sha256, receipt = EXCLUDED.receipt",
        (f"department:{dept}", period, dataset, key, str(folder / name), str(folder / f"{name}.manifest.json"),
         digest, len(rows), len(rows), receipt),
    )  # fmt: skip
    return Workbooks(dept, period, folder / name, len(rows), "written", dataset)


def render(rows: list[tuple], *, period: str, workbook: str = "grades", choices: dict[str, list[str]] | None = None,
           also: dict[str, list[tuple]] | None = None) -> bytes:  # fmt: skip
    """One printable sheet of ``rows`` as publication.yml's ``workbooks.<workbook>`` lays it out
    (sheet name, page title after ``period``, columns with their headers); ``choices`` gives a
    column's allowed values as a drop-down list (for forms a clerk fills in); ``also``: further
    sheets, each the rows of another of the ``workbooks``, laid out the same way."""
    import io

    wb = Workbook()
    _sheet(wb.active, rows, period=period, workbook=workbook, choices=choices)
    for name, more in (also or {}).items():
        _sheet(wb.create_sheet(), more, period=period, workbook=name)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet(ws, rows: list[tuple], *, period: str, workbook: str, choices: dict[str, list[str]] | None = None) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    from credit_platform.publish.config import load

    cfg = load()
    book = cfg.workbooks[workbook]
    columns, title = book.columns, f"{period} {book.title}"
    ws.title = book.sheet
    bold = Font(bold=True)
    for i, (_, header, width, _kind) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=header)
        cell.font, cell.fill = bold, PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = width
    for r, values in enumerate(rows, start=2):
        lines, cells = 1, []
        for i, ((column, _, width, kind), value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = ws.cell(row=r, column=i)
            cells.append((kind, cell))
            if kind == "number" and value is not None:
                cell.value = float(value)
                cell.number_format = "0.00"
                continue
            if kind == "date" and (isinstance(value, dt.date) or not value or _is_iso_date(value)):
                cell.value = dt.date.fromisoformat(value) if isinstance(value, str) and value else (value or None)
                cell.number_format = DATE_FORMAT  # a date cell (typed by a clerk, read back as a date)
                continue
            text = cfg.level_names.get(value, value) if column == "disclosure_level" else formats.text(value)
            set_text(cell, text)
            if kind == "wrap":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                lines = max(lines, wrapped_lines(text, width))
        if lines > 1:  # spreadsheets do not grow a row to its wrapped text when printing: set it
            ws.row_dimensions[r].height = LINE_POINTS * lines
            for kind, cell in cells:
                if kind != "wrap":  # the row's other cells start at its top line too
                    cell.alignment = TOP
    last = max(len(rows) + 1, 2)
    for i, (column, _header, _width, kind) in enumerate(columns, start=1):
        letter = get_column_letter(i)
        if choices and column in choices:  # only these values: anything else typed is refused
            dv = DataValidation(type="list", formula1='"' + ",".join(choices[column]) + '"', allow_blank=True,
                                showErrorMessage=True, errorStyle="stop", errorTitle="取值不在范围内",
                                error="请从下拉列表中选择：" + "、".join(choices[column]),
                                showInputMessage=True, promptTitle="请选择", prompt="从下拉列表中选择")  # fmt: skip
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
        elif kind == "date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                                showErrorMessage=True, errorStyle="stop", errorTitle="日期格式不对",
                                error="请输入日期，如 2026-03-15", showInputMessage=True, promptTitle="日期",
                                prompt="如 2026-03-15")  # fmt: skip
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
            for r in range(len(rows) + 2, last + 1):
                ws.cell(row=r, column=i).number_format = DATE_FORMAT
    _fit_widths(ws, columns, rows)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    ws.print_title_rows = "1:1"
    print_setup(ws, title)


def print_setup(ws, title: str, *, landscape: bool = True) -> None:
    """A4, as wide as the page, the title in the header and page numbers in the footer."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.center.text = title


#: how a date cell shows its date
DATE_FORMAT = "yyyy-mm-dd"
#: the widest a column grows to fit its content (wider text wraps, or is a wrap column)
MAX_WIDTH = 60


def _is_iso_date(value) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def display_width(text: str) -> int:
    """Characters as a spreadsheet sets them: a Chinese (wide) character takes two, as do the quotation
    marks and symbols a Chinese font sets wide."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _fit_widths(ws, columns, rows: list[tuple]) -> None:
    """Every column at least as wide as its header and its longest cell (a wrap column keeps its width)."""
    for i, (_column, header, width, kind) in enumerate(columns, start=1):
        need = display_width(header) + 4  # the filter button beside the header
        if kind not in ("wrap",):
            for values in rows:
                value = values[i - 1]
                if value is not None:
                    need = max(need, display_width(value.isoformat() if isinstance(value, dt.date) else str(value)) + 2)
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, need), MAX_WIDTH)


#: the height of one line of 11-point text in a row, in points
LINE_POINTS = 15
TOP = Alignment(vertical="top")


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a wrapping column ``width`` characters wide: a Chinese (wide)
    character takes two, as do the quotation marks and symbols a Chinese font sets wide, and a line
    breaks at the column's edge (a little early: cells have margins)."""
    import math

    room = max(width - 1.5, 1)
    return sum(max(1, math.ceil(display_width(line) / room)) for line in text.split("\n") or [""])


def set_text(cell, text: str) -> None:
    """A text cell that no spreadsheet will evaluate."""
    cell.value = text
    cell.data_type = "s"  # openpyxl would take a leading '=' for a formula
    cell.number_format = "@"
    if text.startswith(DANGEROUS):
        cell.quotePrefix = True

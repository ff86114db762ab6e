"""Writing tables to CSV, JSON and XLSX, byte for byte the same on every run.

Cell values are ``str``, ``None`` (empty), ``datetime.date`` (rendered in the row's date style in
CSV, ISO in JSON, a real date in XLSX), ``Wan`` (an amount in yuan written in 10,000 yuan) or
``float`` (scores in JSON).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)
XLSX_CREATOR = "credit-platform demo"

# Date styles seen in department exports: 2025-01-05, 2025/1/5, 20250105, 2025年1月5日.
DATE_STYLES = (0, 1, 2, 3)
DATE_STYLE_WEIGHTS = (45, 25, 15, 15)


class Wan(int):
    """An amount held in yuan and written in units of 10,000 yuan (万元), up to four decimals."""

    def text(self) -> str:
        whole, frac = divmod(abs(int(self)), 10000)
        s = f"{whole}.{frac:04d}".rstrip("0").rstrip(".")
        return ("-" + s) if self < 0 else s

    def value(self) -> float:
        return int(self) / 10000


def render_date(d: date, style: int) -> str:
    if style == 1:
        return f"{d.year}/{d.month}/{d.day}"
    if style == 2:
        return f"{d.year:04d}{d.month:02d}{d.day:02d}"
    if style == 3:
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def cell_text(value, style: int) -> str:
    if value is None:
        return ""
    if isinstance(value, Wan):
        return value.text()
    if isinstance(value, date):
        return render_date(value, style)
    return str(value)


def csv_bytes(header, rows, styles, encoding: str, newline: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    for row, style in zip(rows, styles, strict=True):
        writer.writerow([cell_text(v, style) for v in row])
    return buf.getvalue().encode(encoding)


def json_value(value):
    if isinstance(value, Wan):
        return value.value()
    if isinstance(value, date):
        return render_date(value, 0)
    return value


def api_json_bytes(keys, rows, batch: str) -> bytes:
    data = [{k: json_value(v) for k, v in zip(keys, row, strict=True)} for row in rows]
    doc = {"code": 0, "message": "success", "batchNo": batch, "total": len(data), "data": data}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def xlsx_bytes(sheet: str, title: str, header, rows, notes_sheet: str, notes) -> bytes:
    """A workbook with a merged title row, an empty row, the header on row 3 and the data below;
    a second sheet of notes. Fixed document properties and zip timestamps make it reproducible."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([])
    ws.append(list(header))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in rows:
        values = []
        for v in row:
            if isinstance(v, Wan):
                values.append(v.value())
            else:
                values.append(v)
        ws.append(values)
    for col, width in zip("ABCDEFGHIJKLMNOPQRSTUVW", (30, 16, 22, 10, 12, 20, 24, 24, 40, 30, 12, 30, 12, 14, 24,
                                                          12, 12, 12, 22, 22, 22, 22, 10), strict=False):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A4"
    info = wb.create_sheet(notes_sheet)
    for line in notes:
        info.append([line])
    info.column_dimensions["A"].width = 80

    props = wb.properties
    props.creator = XLSX_CREATOR
    props.lastModifiedBy = XLSX_CREATOR
    props.title = title
    props.created = FIXED_TIME
    props.modified = FIXED_TIME

    raw = io.BytesIO()
    archive = ZipFile(raw, "w", ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # unlike ``wb.save`` this keeps ``modified`` as set
    out = io.BytesIO()
    with ZipFile(raw) as src, ZipFile(out, "w", ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info_ = ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info_.compress_type = ZIP_DEFLATED
            info_.external_attr = 0o600 << 16
            dst.writestr(info_, src.read(item.filename))
    return out.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

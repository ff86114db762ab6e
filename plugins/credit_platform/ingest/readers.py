"""Reading XLSX and JSON files into a header and data rows (CSV files are staged in stage.py).

XLSX: every sheet is searched for the header row (title rows and merged cells above it are
skipped). JSON: the list of records inside an API response (its encoding detected as a CSV's).
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HEADER_SEARCH_ROWS = 15
_CHUNK = 1 << 20  # bytes decoded at a time when guessing a file's encoding


class _FormulaWithoutValue:
    """Stands for a formula cell saved without its result (a workbook written by a program, never
    recalculated): read as empty, with the warning ``formula_without_value`` on its row."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"


FORMULA_WITHOUT_VALUE = _FormulaWithoutValue()


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message names the file and the cause."""


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list]]  # (data row number, 1-based; cells)
    encoding: str | None
    sheet: str | None = None
    header_row: int = 0  # the header's row in the sheet, 1-based (0: JSON, whose records have no rows)


def _data_rows(rows: list[list], start: int) -> Iterator[tuple[int, list]]:
    """Rows after the header, numbered by their place (a blank row keeps its number; staging skips it)."""
    yield from enumerate(rows[start:], start=1)


def _find_header(rows: list[list], score_header: Callable[[list], int]) -> int:
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = score_header(row)
        if score > best_score:
            best, best_score = i, score
    if best is None:
        raise UnreadableFile("no header row with known column names in the first rows")
    return best


def detect_encoding(path: Path, *, sample: int | None = None) -> str:
    """UTF-8 (with or without BOM) when the file decodes strictly as UTF-8, else GB18030 (never after a BOM).

    With ``sample``, only the first ``sample`` bytes are decoded: the COPY that follows checks the
    rest, and a file that fails it is detected again in full.
    """
    with open(path, "rb") as fh:
        bom = fh.read(3) == codecs.BOM_UTF8  # says UTF-8: the bytes after it must be, too
        failed_at = None
        for encoding in ("utf-8-sig",) if bom else ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(encoding)()
            fh.seek(0)
            offset = 0
            try:
                for chunk in iter(lambda: fh.read(_CHUNK), b""):
                    decoder.decode(chunk)
                    offset += len(chunk)
                    if sample is not None and offset >= sample:
                        return encoding  # a character cut at the end of the sample is not an error
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError as exc:
                failed_at = failed_at if failed_at is not None else offset + exc.start  # where UTF-8 failed
        if bom:
            raise UnreadableFile(f"a UTF-8 byte order mark, but not UTF-8 (undecodable bytes near byte {failed_at})")
        raise UnreadableFile(f"neither UTF-8 nor GB18030 (undecodable bytes near byte {failed_at})")


def read_xlsx(path: Path, score_header: Callable[[list], int]) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    best = None
    for ws in wb.worksheets:
        rows = _sheet_rows(wb, ws)
        if not rows:
            continue
        try:
            at = _find_header(rows, score_header)
        except UnreadableFile:
            continue
        score = score_header(rows[at])
        if best is None or score > best[0]:
            best = (score, ws.title, rows, at)
    wb.close()
    if best is None:
        raise UnreadableFile("no sheet has a header row with known column names")
    _, title, rows, at = best
    if _has_formulas(path):
        _mark_formulas_without_value(path, title, rows, at)
    header = ["" if h is None else str(h) for h in rows[at]]
    return Table(header, _data_rows(rows, at + 1), None, sheet=title, header_row=at + 1)


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (most exports hold none)."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as fh:
                    tail = b""
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        if _FORMULA.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    return False


def _mark_formulas_without_value(path: Path, title: str, rows: list[list], at: int) -> None:
    """Data cells that read empty yet hold a formula: the formula was saved without its result.

    The workbook is read a second time with the formulas (``data_only=False``), only when it has any.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        for i, formulas in enumerate(wb[title].iter_rows(values_only=True)):
            if i <= at or i >= len(rows):
                continue
            row = rows[i]
            for j, value in enumerate(formulas):
                if value is not None and (j >= len(row) or row[j] is None):
                    row.extend([None] * (j + 1 - len(row)))
                    row[j] = FORMULA_WITHOUT_VALUE
    finally:
        wb.close()


def _sheet_rows(wb, ws) -> list[list]:
    """The sheet's rows; a sheet whose XML is damaged (read lazily, so only now) makes the file unreadable."""
    try:
        return [list(r) for r in ws.iter_rows(values_only=True)]
    except Exception as exc:  # noqa: BLE001 - a parse error of any kind, from the XML parser or openpyxl
        wb.close()
        raise UnreadableFile(f"sheet {ws.title!r} of the workbook is damaged ({type(exc).__name__}: {exc})") from None


def read_json(path: Path, score_header: Callable[[list], int]) -> Table:
    encoding = detect_encoding(path)
    try:
        doc = json.loads(path.read_text(encoding=encoding))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a number too long to convert, nesting too deep
        raise UnreadableFile(f"invalid JSON ({exc})") from None
    records = _records(doc)
    if records is None:
        raise UnreadableFile("no list of records found (expected a list, or an object with one such as 'data')")
    header: list[str] = []
    for r in records:
        for k in r:
            if k not in header:
                header.append(k)
    rows = [[r.get(k) for k in header] for r in records]
    return Table(header, enumerate(rows, start=1), encoding)


def _records(doc) -> list[dict] | None:
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        return doc
    if isinstance(doc, dict):
        for key in ("data", "records", "rows", "items", "list", "result"):
            found = _records(doc.get(key)) if key in doc else None
            if found is not None:
                return found
    return None

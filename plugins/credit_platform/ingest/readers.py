"""Reading a file into a header and data rows, whatever form it arrived in.

CSV: the encoding is detected (a UTF-8 BOM, else strict UTF-8, else GB18030, which covers GBK and
GB2312), never assumed. XLSX: every sheet is searched for the header row (title rows and merged
cells above it are skipped). JSON: the list of records inside an API response.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HEADER_SEARCH_ROWS = 15


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message names the file and the cause."""


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list]]  # (data row number, 1-based; cells)
    encoding: str | None
    sheet: str | None = None


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4]
        raise UnreadableFile(f"neither UTF-8 nor GB18030 (byte {exc.start}: {bad!r})") from None


def _data_rows(rows: list[list], start: int) -> Iterator[tuple[int, list]]:
    n = 0
    for cells in rows[start:]:
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue  # blank lines are not rows
        n += 1
        yield n, cells


def read_csv(path: Path, score_header: Callable[[list], int]) -> Table:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty")
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header_at = _find_header(rows, score_header)
    return Table([str(h) for h in rows[header_at]], _data_rows(rows, header_at + 1), encoding)


def _find_header(rows: list[list], score_header: Callable[[list], int]) -> int:
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = score_header(row)
        if score > best_score:
            best, best_score = i, score
    if best is None:
        raise UnreadableFile("no header row with known column names in the first rows")
    return best


def read_xlsx(path: Path, score_header: Callable[[list], int]) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    best = None
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
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
    header = ["" if h is None else str(h) for h in rows[at]]
    return Table(header, _data_rows(rows, at + 1), None, sheet=title)


def read_json(path: Path, score_header: Callable[[list], int]) -> Table:
    data = path.read_bytes()
    encoding = detect_encoding(data)
    try:
        doc = json.loads(data.decode(encoding))
    except json.JSONDecodeError as exc:
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
    return Table(header, ((i + 1, row) for i, row in enumerate(rows)), encoding)


def _records(doc) -> list[dict] | None:
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        return doc
    if isinstance(doc, dict):
        for key in ("data", "records", "rows", "items", "list", "result"):
            found = _records(doc.get(key)) if key in doc else None
            if found is not None:
                return found
    return None


READERS = {".csv": read_csv, ".txt": read_csv, ".xlsx": read_xlsx, ".json": read_json}


def read_table(path: Path, score_header: Callable[[list], int]) -> Table:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported file type {path.suffix!r} (CSV, XLSX or JSON)")
    return reader(path, score_header)

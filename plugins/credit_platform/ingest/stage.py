"""Reading a file into a temporary staging table of text cells, streaming.

A CSV file goes straight to the server: its bytes after the header row are streamed to
``COPY ... (FORMAT csv, ENCODING ...)``, so PostgreSQL parses it. When that fails (a blank line, a
row with more or fewer cells than the header, a quoted line break in the title rows), the file is
parsed in Python instead, row by row, and still streamed. XLSX and JSON rows are streamed from
their readers. Either way the staging table holds one row per data row, numbered from 1 in file
order (blank lines are not rows), with one text column per header cell.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from credit_platform.ingest.config import Column, Source, header_key
from credit_platform.ingest.readers import HEADER_SEARCH_ROWS, UnreadableFile, read_json, read_xlsx

STAGING = "stg_load"
CHUNK = 1 << 20
PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}


@dataclass
class Staged:
    header: list[str]
    positions: dict[str, int]  # canonical column -> cell index
    encoding: str | None
    sheet: str | None
    rows_in: int
    path: str  # "server" (COPY parsed the CSV) or "python"


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes strictly as UTF-8, else GB18030."""
    with open(path, "rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        for encoding in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(encoding)()
            fh.seek(0)
            offset = 0
            try:
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError as exc:
                failed_at = offset + exc.start
        raise UnreadableFile(f"neither UTF-8 nor GB18030 (undecodable bytes near byte {failed_at})")


def _score(spellings: dict[str, Column]):
    def score(row: list) -> int:
        return len({spellings[k].name for k in (header_key(c) for c in row) if k in spellings})

    return score


def _map_header(source: Source, header: list[str], spellings: dict[str, Column]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        col = spellings.get(header_key(h))
        if col is not None and col.name not in positions:
            positions[col.name] = i
    missing = [c for c in source.columns if c.required and c.name not in positions]
    if missing:
        wanted = "; ".join(f"{c.name} ({' / '.join(c.headers)})" for c in missing)
        raise UnreadableFile(f"required columns missing from the header: {wanted}")
    return positions


def _create(conn, width: int) -> None:
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(width))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGING)))
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE {} (row_number integer GENERATED ALWAYS AS IDENTITY, shape_error text, {})"
        ).format(sql.Identifier(STAGING), cols)
    )


def _copy_rows(conn, width: int, rows: Iterator[list]) -> int:
    cols = sql.SQL(", ").join([sql.Identifier("shape_error")] + [sql.Identifier(f"c{i}") for i in range(width)])
    n = 0
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(STAGING), cols)) as cp:
        for cells in rows:
            cells = [_text(c) for c in cells]
            if all(c is None or not c.strip() for c in cells):
                continue  # blank lines are not rows
            shape = None
            if len(cells) > width:
                extra = cells[width:]
                if any(c is not None and c.strip() for c in extra):
                    shape = "row_too_many_cells"
                cells = cells[:width]
            elif len(cells) < width:
                cells = cells + [None] * (width - len(cells))
            cp.write_row([shape, *cells])
            n += 1
    return n


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).replace("\x00", "")


def _csv_head(path: Path, encoding: str) -> list[str]:
    """The first physical lines of a CSV, decoded."""
    with open(path, "rb") as fh:
        sample = fh.read(256 * 1024)
    text = sample.decode(encoding, errors="ignore")
    # Split on line feeds only (as COPY does), keeping them, so byte offsets stay exact.
    return [line for line in re.split(r"(?<=\n)", text) if line][: HEADER_SEARCH_ROWS + 1]


def stage_csv(conn, source: Source, path: Path, spellings: dict[str, Column]) -> Staged:
    with open(path, "rb") as fh:
        if not fh.read(65536).strip(b" \t\r\n\xef\xbb\xbf"):
            raise UnreadableFile("the file is empty")
    encoding = detect_encoding(path)
    lines = _csv_head(path, encoding)
    records = []
    for line in lines:
        parsed = list(csv.reader([line]))
        records.append(parsed[0] if parsed else [])
    score = _score(spellings)
    best, best_score = None, 0
    for i, rec in enumerate(records[:HEADER_SEARCH_ROWS]):
        sc = score(rec)
        if sc > best_score:
            best, best_score = i, sc
    if best is None:
        raise UnreadableFile("no header row with known column names in the first rows")
    header = [h.lstrip("\ufeff") for h in records[best]]
    positions = _map_header(source, header, spellings)
    width = len(header)

    # Fast path: the server parses everything after the header line.
    offset = len("".join(lines[: best + 1]).encode(encoding))  # a BOM is counted by utf-8-sig's encode
    simple = all(len(list(csv.reader([ln]))) <= 1 for ln in lines[: best + 1])
    if simple:
        conn.execute("SAVEPOINT fast_copy")
        try:
            _create(conn, width)
            cols = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(width))
            stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, ENCODING {})").format(
                sql.Identifier(STAGING), cols, sql.Literal(PG_ENCODING[encoding])
            )
            with conn.cursor() as cur, cur.copy(stmt) as cp, open(path, "rb") as fh:
                fh.seek(offset)
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    cp.write(chunk)
            n = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(STAGING))).fetchone()[0]
            conn.execute("RELEASE SAVEPOINT fast_copy")
            return Staged(header, positions, encoding, None, n, "server")
        except Exception:  # noqa: BLE001 - any COPY error: parse in Python instead
            conn.execute("ROLLBACK TO SAVEPOINT fast_copy")
            conn.execute("RELEASE SAVEPOINT fast_copy")

    _create(conn, width)
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        for _ in range(best + 1):
            next(reader, None)
        n = _copy_rows(conn, width, reader)
    return Staged(header, positions, encoding, None, n, "python")


def stage_file(conn, source: Source, path: Path, department: str | None) -> Staged:
    # Room for the staged rows and the hash joins of validation, for this transaction only
    # (temp_buffers can only change before the session's first temporary table).
    if conn.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't'").fetchone()[0] == 0:
        conn.execute("SET temp_buffers = '1GB'")
    conn.execute("SET LOCAL work_mem = '128MB'")
    spellings = source.spellings_for(department)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return stage_csv(conn, source, path, spellings)
    if suffix == ".xlsx":
        table = read_xlsx(path, _score(spellings))
    elif suffix == ".json":
        table = read_json(path, _score(spellings))
    else:
        raise UnreadableFile(f"unsupported file type {suffix!r} (CSV, XLSX or JSON)")
    header = [h.strip() for h in table.header]
    positions = _map_header(source, header, spellings)
    _create(conn, len(header))
    n = _copy_rows(conn, len(header), (cells for _, cells in table.rows))
    return Staged(header, positions, table.encoding, table.sheet, n, "python")


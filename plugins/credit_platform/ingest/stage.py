"""Landing a file's rows as text cells, streaming, ready for validation (``validate.py``).

A well-formed CSV file goes straight to the server: its bytes after the header row are streamed
to ``COPY ... (FORMAT csv, ENCODING ...)``, so PostgreSQL parses it. When the loader gives a raw
target and every header cell names a column of the source, the COPY writes into the source's raw
table itself (batch, file, row number and department come from the table's defaults, set for this
transaction), so the rows are written once; otherwise, and always for ``check``, into the
temporary table ``stg_load``. When the COPY fails (a blank line, a row with more or fewer cells
than the header, a quoted line break in the title rows), the file is parsed in Python instead,
row by row, and still streamed. XLSX and JSON rows are streamed from their readers.

Either way the landed rows are numbered from 1 in file order (blank lines are not rows), and each
header cell has a text column: the source's column name for a header it knows, ``x<i>`` for one it
does not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from credit_platform.ingest.archive import ArchivingTap
from credit_platform.ingest.config import Column, Source, header_key
from credit_platform.ingest.readers import (
    FORMULA_WITHOUT_VALUE,
    HEADER_SEARCH_ROWS,
    UnreadableFile,
    detect_encoding,
    read_json,
    read_xlsx,
)

STAGING = "stg_load"
CHUNK = 1 << 20
HEAD_BYTES = 256 * 1024  # where the header is looked for
ENCODING_SAMPLE = 4 << 20
MAX_CELL = 256 << 20  # bytes in one cell (PostgreSQL's own limit for a text value is 1 GB)
MAX_COLUMNS = 1500  # cells in a header row (a PostgreSQL table has at most 1,600 columns)
PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}


@dataclass(frozen=True)
class RawTarget:
    """Where the loader lets rows land directly: the source's raw table, for this batch."""

    batch_id: int
    source_file: str
    department: str | None


@dataclass
class Landed:
    header: list[str]
    columns: list[str]  # the landing column of each header cell
    positions: dict[str, int]  # source column -> header cell index
    encoding: str | None
    sheet: str | None
    rows_in: int
    path: str  # "server" (COPY parsed the CSV) or "python"
    table: str  # schema-qualified raw table, or the temporary staging table
    batch_id: int | None = None  # set when the rows landed in the raw table
    digest: str | None = None  # SHA-256 of the file, when computed (and archived) while it was read
    cell_warnings: list[tuple[int, str]] = field(default_factory=list)  # (row number, code@column), reading's
    header_row: int = 1  # the header's row as the clerk sees it (1-based; 0 for JSON): a row's is this + row_number

    def sheet_row(self, row_number: int) -> int:
        """The row as the clerk sees it in the sheet (title and header rows counted)."""
        return self.header_row + row_number

    @property
    def in_raw(self) -> bool:
        return self.batch_id is not None

    @property
    def relation(self) -> sql.Composable:
        return sql.Identifier(*self.table.split("."))

    @property
    def where(self) -> sql.Composable:
        """The condition on ``s`` that selects the landed rows."""
        return sql.SQL("s.batch_id = {}").format(sql.Literal(self.batch_id)) if self.in_raw else sql.SQL("true")

    def missing_required(self, source: Source) -> list[str]:
        """The required columns of ``source`` that the file's header lacks."""
        return [c.name for c in source.columns if c.required and c.name not in self.positions]

    def cell(self, name: str) -> sql.Composable | None:
        return sql.SQL("s.{}").format(sql.Identifier(name)) if name in self.positions else None

    @property
    def has_shape_errors(self) -> bool:
        return not self.in_raw


def _score(spellings: dict[str, Column]):
    def score(row: list) -> int:
        return len({spellings[k].name for k in (header_key(c) for c in row) if k in spellings})

    return score


def _map_header(source: Source, header: list[str], spellings: dict[str, Column]) -> tuple[dict[str, int], list[str]]:
    """The source column of each known header cell (the first, when a column is named twice)."""
    if len(header) > MAX_COLUMNS:  # each header cell is a column of the landing table
        raise UnreadableFile(f"the header row has {len(header)} cells; at most {MAX_COLUMNS} columns can be read")
    positions: dict[str, int] = {}
    columns = []
    for i, h in enumerate(header):
        col = spellings.get(header_key(h))
        if col is not None and col.name not in positions:
            positions[col.name] = i
            columns.append(col.name)
        else:
            columns.append(f"x{i}")
    # A required column missing from the header does not stop the landing: every row is then
    # rejected for it (validate.py) and the raw quality gate quarantines the batch.
    return positions, columns


def _create(conn, columns: list[str]) -> None:
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGING)))
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE {} (row_number integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),"
        " shape_error text, extra_cells text, {})").format(sql.Identifier(STAGING), cols))  # fmt: skip


def _cell_warnings(number: int, columns: list[str], raw_cells: list) -> Iterator[tuple[int, str]]:
    """The cells of a row changed on reading: ``(row number, code@column)`` (``values.CELL_WARNINGS``)."""
    for column, value in zip(columns, raw_cells, strict=False):
        if value is FORMULA_WITHOUT_VALUE:
            yield number, f"formula_without_value@{column}"
        elif isinstance(value, str) and "\x00" in value:
            yield number, f"nul_character_removed@{column}"


def _copy_rows(conn, columns: list[str], rows: Iterator[tuple[int, list]],
               warnings: list[tuple[int, str]] | None = None) -> int:  # fmt: skip
    """Rows numbered by their place after the header; a blank one keeps its number but is not a row.

    ``warnings`` (optional) receives the cells of the landed rows that reading changed.
    """
    width = len(columns)
    names = ["row_number", "shape_error", "extra_cells", *columns]
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    n = 0
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(STAGING), cols)) as cp:
        for number, raw_cells in rows:
            cells = [_text(c) for c in raw_cells]
            if all(c is None or not c.strip() for c in cells):
                continue  # blank lines are not rows
            shape = extra = None
            if len(cells) > width:
                beyond = cells[width:]
                if any(c is not None and c.strip() for c in beyond):
                    shape, extra = "row_too_many_cells", json.dumps(beyond, ensure_ascii=False)
                cells = cells[:width]
            elif len(cells) < width:
                cells = cells + [None] * (width - len(cells))
            try:
                cp.write_row([number, shape, extra, *cells])
            except UnicodeEncodeError:  # only a JSON escape can write half a character
                raise UnreadableFile(f"data row {number}: {NOT_UNICODE}") from None
            n += 1
            if warnings is not None:
                warnings.extend(_cell_warnings(number, columns, raw_cells))
    return n


def _text(value) -> str | None:
    if value is None or value is FORMULA_WITHOUT_VALUE:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).replace("\x00", "") or None  # an empty cell is NULL, as COPY reads it


NOT_UNICODE = "text that is not valid Unicode (half a character: a lone surrogate such as \\ud800)"


def _header_cell(text: str) -> str:
    """A header cell without NUL characters, which no PostgreSQL text can hold (cells lose them in ``_text``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnreadableFile(f"the header row holds {NOT_UNICODE}") from None
    return text.replace("\x00", "")


def _csv_head(path: Path, encoding: str) -> list[tuple[list[str], int]]:
    """The first records of a CSV, each with the byte offset just after it.

    A quoted cell may hold line breaks (a title, or a header cell wrapped in Excel), so records are
    parsed as the csv module reads them, and lines end at LF, CRLF or a lone CR, as COPY's do.
    """
    with open(path, "rb") as fh:
        sample = fh.read(HEAD_BYTES)
    text = sample.decode(encoding, errors="ignore")
    lines = [ln for ln in re.split(r"(?<=\n)|(?<=\r)(?!\n)", text) if ln]
    used = 0

    def feed():
        nonlocal used
        for line in lines:
            used += 1
            yield line

    out = []
    try:
        for record in csv.reader(feed()):
            out.append((record, len("".join(lines[:used]).encode(encoding))))  # utf-8-sig counts its BOM
            if len(out) > HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        pass  # the sample ends inside a record: the records before it are enough
    return out


def _prepare(conn, target: RawTarget | None) -> None:
    """The row-number sequence of this landing; with a raw target, the raw table's defaults for this transaction."""
    conn.execute("DROP SEQUENCE IF EXISTS pg_temp.credit_row_number")
    conn.execute("CREATE TEMPORARY SEQUENCE credit_row_number")
    if target is not None:
        conn.execute(
            "SELECT set_config('credit.batch_id', %s, true), set_config('credit.source_file', %s, true),"
            " set_config('credit.department_code', %s, true)",
            (str(target.batch_id), target.source_file, target.department or ""),
        )


def stage_csv(conn, source: Source, path: Path, spellings: dict[str, Column], target: RawTarget | None,
              tap: ArchivingTap | None = None, encoding: str | None = None) -> Landed:  # fmt: skip
    with open(path, "rb") as fh:
        if not fh.read(65536).strip(b" \t\r\n\xef\xbb\xbf"):
            raise UnreadableFile("the file is empty")
    csv.field_size_limit(MAX_CELL)  # the default (128 KiB) would refuse a long text cell that COPY takes
    sampled = encoding is None
    encoding = encoding or detect_encoding(path, sample=ENCODING_SAMPLE)
    records = _csv_head(path, encoding)
    score = _score(spellings)
    best, best_score = None, 0
    for i, (record, _end) in enumerate(records[:HEADER_SEARCH_ROWS]):
        sc = score(record)
        if sc > best_score:
            best, best_score = i, sc
    if best is None:
        raise UnreadableFile("no header row with known column names in the first rows")
    header = [_header_cell(h).lstrip("\ufeff") for h in records[best][0]]
    while header and not header[-1].strip():  # empty cells after the last heading (a trailing comma)
        header.pop()
    positions, columns = _map_header(source, header, spellings)
    offset = records[best][1]

    # Fast path: the server parses everything after the header record.
    into_raw = target is not None and len(positions) == len(header)
    conn.execute("SAVEPOINT fast_copy")
    try:
        if into_raw:
            table = source.table
        else:
            table = STAGING
            _create(conn, columns)
        n, digest = _copy_file(conn, path, offset, table, columns, encoding, tap)
        conn.execute("RELEASE SAVEPOINT fast_copy")
        return Landed(header, columns, positions, encoding, None, n, "server", table,
                      target.batch_id if into_raw else None, digest, header_row=best + 1)  # fmt: skip
    except Exception:  # noqa: BLE001 - any COPY error: parse in Python instead
        conn.execute("ROLLBACK TO SAVEPOINT fast_copy")
        conn.execute("RELEASE SAVEPOINT fast_copy")
        if tap is not None:  # it saw part of the file only
            tap.discard()
            tap = None
    if sampled and detect_encoding(path) != encoding:  # the sample misled: start again, knowing
        return stage_csv(conn, source, path, spellings, target, tap, detect_encoding(path))

    _create(conn, columns)
    with open(path, "rb") as raw:
        raw.seek(offset)  # past the header record, whatever it spans
        text = io.TextIOWrapper(raw, encoding="utf-8" if encoding == "utf-8-sig" else encoding, newline="")
        warnings: list[tuple[int, str]] = []
        try:
            n = _copy_rows(conn, columns, enumerate(csv.reader(text), start=1), warnings)
        except UnicodeDecodeError as exc:  # detection read the file whole; kept as a guard all the same
            raise UnreadableFile(f"not {encoding} after all (undecodable bytes: {exc.reason})") from None
    return Landed(header, columns, positions, encoding, None, n, "python", STAGING, cell_warnings=warnings,
                  header_row=best + 1)  # fmt: skip


def _copy_file(conn, path: Path, offset: int, table: str, columns: list[str], encoding: str,
               tap: ArchivingTap | None) -> tuple[int, str | None]:  # fmt: skip
    """COPY the bytes after ``offset``; the tap sees every byte meanwhile, in a thread of its own."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, ENCODING {})").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Literal(PG_ENCODING[encoding]),
    )  # fmt: skip
    conn.execute("SELECT setval('pg_temp.credit_row_number', 1, false)")  # numbered from 1, also on a second try
    with conn.cursor() as cur, open(path, "rb") as fh, _Tapped(tap) as feed:
        feed(fh.read(offset))
        with cur.copy(stmt) as cp:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                feed(chunk)
                cp.write(chunk)
        n = cur.rowcount
    return n, (tap.finish() if tap is not None else None)


class _Tapped:
    """Hands chunks to the tap in a worker thread (hashing and writing release the GIL), a few at a time."""

    def __init__(self, tap: ArchivingTap | None):
        self.tap = tap
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True) if tap is not None else None

    def _run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                self.tap.feed(chunk)
        except BaseException as exc:  # noqa: BLE001 - reported by __exit__
            self.error = exc
            while self.queue.get() is not None:
                pass

    def __enter__(self):
        if self.thread is None:
            return lambda _chunk: None
        self.thread.start()
        return self.queue.put

    def __exit__(self, *exc) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            if self.error is not None and exc[0] is None:
                raise self.error


def stage_file(conn, source: Source, path: Path, department: str | None, target: RawTarget | None = None,
               tap: ArchivingTap | None = None) -> Landed:  # fmt: skip
    """Land the file's rows: in the raw table when ``target`` is given and the file allows it.

    ``tap`` (optional) sees the file's bytes when the COPY path reads them; then ``digest`` is set.
    """
    # Room for the staged rows and the hash joins of validation, for this transaction only
    # (temp_buffers can only change before the session's first temporary table).
    if conn.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't'").fetchone()[0] == 0:
        conn.execute("SET temp_buffers = '1GB'")
    conn.execute("SET LOCAL work_mem = '128MB'")
    _prepare(conn, target)
    spellings = source.spellings_for(department)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return stage_csv(conn, source, path, spellings, target, tap)
    if suffix == ".xlsx":
        table = read_xlsx(path, _score(spellings))
    elif suffix == ".json":
        table = read_json(path, _score(spellings))
    else:
        raise UnreadableFile(f"unsupported file type {suffix!r} (CSV, XLSX or JSON)")
    header = [_header_cell(h).strip() for h in table.header]
    while header and not header[-1]:  # a sheet's empty columns after the last heading
        header.pop()
    if not header and suffix == ".json":  # a push with no records: nothing to load, nothing wrong
        header = [c.headers[0] for c in source.columns]
    positions, columns = _map_header(source, header, spellings)
    _create(conn, columns)
    warnings: list[tuple[int, str]] = []
    n = _copy_rows(conn, columns, table.rows, warnings)
    return Landed(header, columns, positions, table.encoding, table.sheet, n, "python", STAGING,
                  cell_warnings=warnings, header_row=table.header_row)  # fmt: skip

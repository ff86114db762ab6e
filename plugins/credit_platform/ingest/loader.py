"""The generic loader: one file from the inbox into its raw table, every row loaded or rejected.

For each file: its SHA-256 is computed and the original archived under ``$CREDIT_ARCHIVE/<sha256>``;
a batch is opened in ``ops.load_batches``; rows are read (any supported format), each cell
converted by its column's type; accepted rows are copied into the source's raw table and rejected
ones into ``ops.rejected_rows`` with a reason, in one transaction. rows_in = rows_loaded +
rows_rejected, enforced by a check on the batch. A file already loaded (same source and SHA-256)
is skipped, so loading twice is safe. A file that cannot be read at all fails its batch with the
cause and raises ``LoadError`` naming the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psycopg
from psycopg import sql

from credit_platform.ingest.config import Source, header_key, source_for, sources
from credit_platform.ingest.readers import UnreadableFile, read_table
from credit_platform.ingest.values import Invalid, convert
from credit_platform.settings import paths, today

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv", ".txt", ".xlsx", ".json"}


class LoadError(RuntimeError):
    pass


@dataclass
class LoadResult:
    source: str
    file: str
    sha256: str
    batch_id: int | None
    status: str  # loaded, skipped, failed
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def discover(inbox: Path | None = None, *, prefix: str = "") -> list[str]:
    """Files under the inbox that some source claims, as inbox-relative POSIX paths, sorted."""
    inbox = inbox or paths().inbox
    found = []
    base = inbox / prefix if prefix else inbox
    if not base.exists():
        return []
    for p in sorted(base.rglob("*")):
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES:
            rel = p.relative_to(inbox).as_posix()
            if source_for(rel) is not None:
                found.append(rel)
    return found


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive(path: Path, digest: str, archive_dir: Path | None = None) -> Path:
    archive_dir = archive_dir or paths().archive
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = archive_dir / digest
    if not target.exists():
        tmp = target.with_suffix(".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return target


def _score_header(source: Source):
    spellings = source.spellings

    def score(row: list) -> int:
        return len({spellings[k].name for k in (header_key(c) for c in row) if k in spellings})

    return score


def _jsonable(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v if v is None or isinstance(v, (int, float, str, bool)) else str(v)


def load_file(
    url: str,
    relative: str,
    *,
    inbox: Path | None = None,
    archive_dir: Path | None = None,
    as_of: dt.date | None = None,
) -> LoadResult:
    """Load one inbox file (path relative to the inbox) as the loader role at ``url``."""
    inbox = inbox or paths().inbox
    source = source_for(relative)
    if source is None:
        raise LoadError(f"{relative}: no source in sources.yml claims this path")
    path = inbox / relative
    digest = sha256_of(path)
    department = source.department_of(relative) if source.department_from_path else None
    if source.department_from_path and not department:
        raise LoadError(f"{relative}: expected under departments/<department_code>/")
    as_of = as_of or today()

    with psycopg.connect(url) as conn:
        done = conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE source = %s AND file_sha256 = %s AND status = 'loaded'",
            (source.name, digest),
        ).fetchone()
        if done:
            log.info("%s: already loaded as batch %s, skipped", relative, done[0])
            return LoadResult(source.name, relative, digest, done[0], "skipped")
        archive(path, digest, archive_dir)
        batch_id = conn.execute(
            "INSERT INTO ops.load_batches (source, department_code, source_file, file_sha256)"
            " VALUES (%s, %s, %s, %s) RETURNING batch_id",
            (source.name, department, relative, digest),
        ).fetchone()[0]
        conn.commit()
        try:
            result = _load_rows(conn, source, path, relative, digest, batch_id, department, as_of)
            conn.commit()
        except Exception as exc:
            conn.rollback()
            message = f"{relative}: {exc}"
            conn.execute(
                "UPDATE ops.load_batches SET status = 'failed', message = %s, finished_at = now() WHERE batch_id = %s",
                (message, batch_id),
            )
            conn.commit()
            if isinstance(exc, (UnreadableFile, LoadError)):
                raise LoadError(message) from exc
            raise
    log.info(
        "%s: batch %s, %s rows read, %s loaded, %s rejected %s",
        relative, batch_id, result.rows_in, result.rows_loaded, result.rows_rejected, result.rejected_by_reason,
    )  # fmt: skip
    return result


def _load_rows(conn, source: Source, path: Path, relative: str, digest: str, batch_id: int,
               department: str | None, as_of: dt.date) -> LoadResult:  # fmt: skip
    table = read_table(path, _score_header(source))
    spellings = source.spellings
    positions: dict[str, int] = {}
    for i, h in enumerate(table.header):
        col = spellings.get(header_key(h))
        if col is not None and col.name not in positions:
            positions[col.name] = i
    missing = [c.name for c in source.columns if c.required and c.name not in positions]
    if missing:
        wanted = "; ".join(f"{c.name} ({' / '.join(c.headers)})" for c in source.columns if c.name in missing)
        raise UnreadableFile(f"required columns missing from the header: {wanted}")

    columns = [c for c in source.columns if c.name in positions]
    target_cols = ["batch_id", "source_file", "row_number"]
    if department is not None:
        target_cols.append("department_code")
    target_cols += [c.name for c in columns]
    uscc_cols = [c.name for c in columns if c.type == "uscc"]
    if uscc_cols:
        target_cols.append("uscc_original")

    loaded: list[list] = []
    rejected: list[list] = []
    reasons: Counter[str] = Counter()
    rows_in = 0
    for row_number, cells in table.rows:
        rows_in += 1
        values = []
        failure = None
        for c in columns:
            pos = positions[c.name]
            cell = cells[pos] if pos < len(cells) else None
            try:
                v = convert(c.type, cell, as_of)
                if v is None and c.required:
                    raise Invalid("required_missing", f"必填项为空: {c.headers[0]}")
            except Invalid as bad:
                failure = (bad, c, cell)
                break
            values.append(v)
        if failure is not None:
            bad, c, cell = failure
            record = {str(h): _jsonable(cells[i] if i < len(cells) else None) for i, h in enumerate(table.header)}
            rejected.append([batch_id, relative, row_number, bad.code, bad.detail, c.name,
                             None if cell is None else str(cell), json.dumps(record, ensure_ascii=False)])  # fmt: skip
            reasons[bad.code] += 1
            continue
        head = [batch_id, relative, row_number] + ([department] if department is not None else [])
        extra = [str(cells[positions[uscc_cols[0]]]).strip()] if uscc_cols else []
        loaded.append(head + values + extra)

    schema, name = source.table.split(".")
    copy_raw = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, target_cols))
    )
    with conn.cursor() as cur:
        with cur.copy(copy_raw) as cp:
            for r in loaded:
                cp.write_row(r)
        with cur.copy(
            "COPY ops.rejected_rows (batch_id, source_file, row_number, reason_code, reason, column_name,"
            " raw_value, record) FROM STDIN"
        ) as cp:
            for r in rejected:
                cp.write_row(r)
    conn.execute(
        "UPDATE ops.load_batches SET status = 'loaded', rows_in = %s, rows_loaded = %s, rows_rejected = %s,"
        " finished_at = now(), message = %s WHERE batch_id = %s",
        (rows_in, len(loaded), len(rejected), _message(table, reasons), batch_id),
    )
    return LoadResult(source.name, relative, digest, batch_id, "loaded", rows_in, len(loaded), len(rejected),
                      dict(sorted(reasons.items())))  # fmt: skip


def _message(table, reasons: Counter) -> str:
    parts = []
    if table.encoding:
        parts.append(f"encoding {table.encoding}")
    if table.sheet:
        parts.append(f"sheet {table.sheet}")
    if reasons:
        parts.append("rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    return "; ".join(parts)


def known_sources() -> list[str]:
    return sorted(sources())


# Within a department, registers load before the records that refer to them.
LOAD_ORDER = ["subject_register", "supervision_scope", "inspection_matter", "inspector_roster",
              "serious_dishonesty", "commendation", "penalty", "licence"]  # fmt: skip


def departments_with_files(inbox: Path | None = None) -> list[str]:
    inbox = inbox or paths().inbox
    return sorted({PurePosixPath(rel).parts[1] for rel in discover(inbox, prefix="departments")})


def load_department(url: str, department_code: str, *, inbox: Path | None = None) -> list[LoadResult]:
    """Load every file of one department; every file is tried, then the first failure is raised."""
    inbox = inbox or paths().inbox
    files = discover(inbox, prefix=f"departments/{department_code}")
    rank = {name: i for i, name in enumerate(LOAD_ORDER)}
    files.sort(key=lambda rel: (rank.get(source_for(rel).name, len(rank)), rel))
    results, failures = [], []
    for rel in files:
        try:
            results.append(load_file(url, rel, inbox=inbox))
        except LoadError as exc:
            log.error("%s", exc)
            failures.append(str(exc))
    if failures:
        raise LoadError(f"{len(failures)} of {len(files)} file(s) of {department_code} failed:\n" + "\n".join(failures))
    return results

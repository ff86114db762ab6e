"""The generic loader: one file from the inbox into its raw table, every row loaded or rejected.

For each file: its SHA-256 is computed and the original archived under ``$CREDIT_ARCHIVE/<sha256>``;
a batch is opened in ``ops.load_batches``; the file is staged (``stage.py``) and validated in SQL
(``validate.py``); accepted rows go to the source's raw table (natural persons to
``raw.protected_person_records``) and rejected ones to ``ops.rejected_rows`` with every reason, in
one transaction. rows_in = rows_loaded + rows_rejected, enforced by a check on the batch. A file
already loaded (same source, department and SHA-256) is recorded as a duplicate and not loaded
again. A file that cannot be read at all fails its batch with the cause and raises ``LoadError``
naming the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psycopg
from psycopg import sql

from credit_platform.ingest import validate
from credit_platform.ingest.config import Source, rules, source_for
from credit_platform.ingest.readers import UnreadableFile
from credit_platform.ingest.stage import STAGING, stage_file
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
    status: str  # loaded, duplicate
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rows_protected: int = 0

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
    if not path.is_file():
        raise LoadError(f"{relative}: no such file in {inbox}")
    digest = sha256_of(path)
    department = source.department_of(relative) if source.department_from_path else None
    if source.department_from_path and not department:
        raise LoadError(f"{relative}: expected under departments/<department_code>/")
    as_of = as_of or today()

    with psycopg.connect(url) as conn:
        # One loader at a time per file: a second one waits, then finds it loaded.
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"{source.name}|{department}|{digest}",))
        conn.commit()
        done = conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE source = %s AND file_sha256 = %s AND status = 'loaded'"
            " AND department_code IS NOT DISTINCT FROM %s",
            (source.name, digest, department),
        ).fetchone()
        if done:
            dup = conn.execute(
                "INSERT INTO ops.load_batches (source, department_code, source_file, file_sha256, status, duplicate_of,"
                " message, finished_at) VALUES (%s, %s, %s, %s, 'duplicate', %s, %s, now()) RETURNING batch_id",
                (source.name, department, relative, digest, done[0], f"already loaded as batch {done[0]}"),
            ).fetchone()[0]
            conn.commit()
            log.info("%s: already loaded as batch %s; recorded as duplicate batch %s", relative, done[0], dup)
            return LoadResult(source.name, relative, digest, dup, "duplicate")
        # A batch of this file still 'running' was cut off (we hold the file's lock): say so.
        conn.execute(
            "UPDATE ops.load_batches SET status = 'interrupted', finished_at = now(),"
            " message = 'the load stopped before it finished; nothing of it was kept'"
            " WHERE source = %s AND file_sha256 = %s AND status = 'running'"
            " AND department_code IS NOT DISTINCT FROM %s",
            (source.name, digest, department),
        )
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
        "%s: batch %s, %s rows read, %s loaded (%s protected), %s rejected %s",
        relative, batch_id, result.rows_in, result.rows_loaded, result.rows_protected, result.rows_rejected,
        result.rejected_by_reason,
    )  # fmt: skip
    return result


def _load_rows(conn, source: Source, path: Path, relative: str, digest: str, batch_id: int,
               department: str | None, as_of: dt.date) -> LoadResult:  # fmt: skip
    staged = stage_file(conn, source, path, department)
    validate.build(conn, source, staged, department=department, as_of=as_of, rules=rules())

    present = [c for c in source.columns if c.name in staged.positions or c.type == "uscc"]
    has_uscc = any(c.type == "uscc" for c in source.columns)
    target = ["batch_id", "source_file", "row_number"] + (["department_code"] if department else [])
    target += [c.name for c in present] + (["uscc_original"] if has_uscc else []) + ["flags"]
    values = [sql.Literal(batch_id), sql.Literal(relative), sql.SQL("v.row_number")]
    if department:
        values.append(sql.Literal(department))
    values += [sql.SQL("v.{}").format(sql.Identifier(c.name)) for c in present]
    if has_uscc:
        values.append(sql.SQL("v.uscc_original"))
    values.append(sql.SQL("v.flags"))
    schema, name = source.table.split(".")
    conn.execute(sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM {} v WHERE v.reasons = '{{}}' AND NOT v.is_natural_person").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, target)), sql.SQL(", ").join(values),
        sql.Identifier(validate.VALIDATED)))  # fmt: skip

    # Rows that do not go to raw (rejected, or natural persons) are few: take them aside, then read
    # their cells from the staging table once each.
    conn.execute("DROP TABLE IF EXISTS aside")
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE aside AS SELECT row_number, reasons, is_natural_person FROM {}"
        " WHERE reasons <> '{{}}' OR is_natural_person").format(sql.Identifier(validate.VALIDATED)))  # fmt: skip
    conn.execute("ANALYZE aside")
    record = _record_sql(staged)
    protected = conn.execute(sql.SQL(
        "INSERT INTO raw.protected_person_records (batch_id, source, source_file, row_number, record)"
        " SELECT %s, %s, %s, v.row_number, {} FROM aside v JOIN {} s USING (row_number) WHERE v.is_natural_person"
    ).format(record, sql.Identifier(STAGING)), (batch_id, source.name, relative)).rowcount  # fmt: skip

    cells = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN s.{}").format(sql.Literal(col), sql.Identifier(f"c{pos}"))
        for col, pos in staged.positions.items()
    ) if staged.positions else sql.SQL("")  # fmt: skip
    rows_rejected = conn.execute(sql.SQL(
        "INSERT INTO ops.rejected_rows (batch_id, source_file, row_number, reason_code, reason, column_name,"
        " raw_value, record, reason_codes)"
        " SELECT %s, %s, v.row_number, split_part(v.reasons[1], '@', 1),"
        "   (SELECT string_agg(coalesce(%s::jsonb ->> split_part(r, '@', 1), split_part(r, '@', 1))"
        "           || CASE WHEN split_part(r, '@', 2) = 'row' THEN '' ELSE ' (' || split_part(r, '@', 2) || ')' END,"
        "           '; ') FROM unnest(v.reasons) r),"
        "   nullif(split_part(v.reasons[1], '@', 2), 'row'),"
        "   CASE split_part(v.reasons[1], '@', 2) {} END,"
        "   {}, (SELECT array_agg(split_part(r, '@', 1)) FROM unnest(v.reasons) r)"
        " FROM aside v JOIN {} s USING (row_number) WHERE NOT v.is_natural_person").format(
        cells, record, sql.Identifier(STAGING)),
        (batch_id, relative, validate.reason_messages_json())).rowcount  # fmt: skip
    conn.execute("DROP TABLE aside")

    rows_in = staged.rows_in
    rows_loaded = rows_in - rows_rejected
    reasons = dict(conn.execute(
        "SELECT reason_code, count(*) FROM ops.rejected_rows WHERE batch_id = %s GROUP BY 1 ORDER BY 1", (batch_id,)
    ).fetchall())  # fmt: skip
    conn.execute(
        "UPDATE ops.load_batches SET status = 'loaded', rows_in = %s, rows_loaded = %s, rows_rejected = %s,"
        " rows_protected = %s, finished_at = now(), message = %s WHERE batch_id = %s",
        (rows_in, rows_loaded, rows_rejected, protected, _message(staged, reasons), batch_id),
    )
    return LoadResult(source.name, relative, digest, batch_id, "loaded", rows_in, rows_loaded, rows_rejected,
                      reasons, protected)  # fmt: skip


def _record_sql(staged) -> sql.Composable:
    """The row as read: header -> cell, as JSON."""
    pairs = [sql.SQL("{}, s.{}").format(sql.Literal(h or f"column_{i + 1}"), sql.Identifier(f"c{i}"))
             for i, h in enumerate(staged.header)]  # fmt: skip
    chunks = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i : i + 40]))
              for i in range(0, len(pairs), 40)] or [sql.SQL("'{{}}'::jsonb")]  # fmt: skip
    return sql.SQL(" || ").join(chunks)


def _message(staged, reasons: dict) -> str:
    parts = [f"read by {'PostgreSQL COPY' if staged.path == 'server' else 'Python'}"]
    if staged.encoding:
        parts.append(f"encoding {staged.encoding}")
    if staged.sheet:
        parts.append(f"sheet {staged.sheet}")
    if reasons:
        parts.append("rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    return "; ".join(parts)


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

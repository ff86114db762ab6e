"""Replaying the archive: every batch of the archive's ledger landed again from its archived file.

``rebuild`` (``credit-platform rebuild``, in ``credit_platform.grading.periods``) uses it to show
that the warehouse can be rebuilt from ``$CREDIT_ARCHIVE`` alone. ``plan`` reads the ledger (and
any batch the database knows and the ledger lacks) and refuses, changing nothing, when an archived
file is missing; ``replay`` then empties ``raw`` and the rejected rows, lands each batch again under
its own batch id (the loader's ``reland``: its counts must equal the ledger's) and gates any batch
whose first load stopped before the gate. Only ingest's own state is written here: ``raw``,
``ops.load_batches``, ``ops.rejected_rows`` and the ledger.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from credit_platform.settings import paths

log = logging.getLogger(__name__)


class ArchiveIncomplete(RuntimeError):
    """A batch to replay has no file in the archive: nothing was changed."""


@dataclass
class Replay:
    archive_dir: Path
    entries: list[dict]
    from_database_only: list[int] = field(default_factory=list)  # batches the ledger lacks
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0


def plan(admin: str, archive_dir: Path | None = None) -> Replay:
    """The ledger's entries, plus any loaded (or quarantined) batch the database knows and the ledger
    lacks; ``ArchiveIncomplete`` when one of them has no archived file."""
    from credit_platform.ingest.archive import LEDGER_FIELDS, read_ledger

    archive_dir = archive_dir or paths().archive
    entries = {int(e["batch_id"]): e for e in read_ledger(archive_dir)}
    fallback = []
    with psycopg.connect(admin) as conn:
        for e in conn.cursor(row_factory=dict_row).execute(
            "SELECT *, (started_at AT TIME ZONE 'Asia/Shanghai')::date AS as_of FROM ops.load_batches"
            " WHERE status IN ('landed', 'loaded', 'quarantined') AND NOT batch_id = ANY(%s) ORDER BY batch_id",
            (list(entries),),
        ).fetchall():  # fmt: skip
            e["as_of"] = e["as_of"].isoformat()
            entries[e["batch_id"]] = {k: e.get(k) for k in LEDGER_FIELDS}
            fallback.append(e["batch_id"])
    ordered = [entries[k] for k in sorted(entries)]
    missing = [f"batch {e['batch_id']} ({e['source_file']}): {e['file_sha256']}" for e in ordered
               if not e.get("file_sha256") or not (archive_dir / e["file_sha256"]).is_file()]  # fmt: skip
    if missing:
        raise ArchiveIncomplete(f"{len(missing)} loaded batch(es) have no file in {archive_dir}; nothing was changed:\n"
                                + "\n".join(missing[:20]))  # fmt: skip
    if fallback:
        log.warning("batches %s are not in the archive's ledger; their load records in ops.load_batches are used",
                    fallback)  # fmt: skip
    return Replay(archive_dir, ordered, fallback)


def empty_raw(admin: str) -> None:
    """Empty every raw table and the rows set aside from them (``ops.rejected_rows``)."""
    with psycopg.connect(admin) as conn:
        raw_tables = [r[0] for r in conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'raw'")]  # fmt: skip
        if raw_tables:
            conn.execute(sql.SQL("TRUNCATE {}, ops.rejected_rows").format(
                sql.SQL(", ").join(sql.SQL(t) for t in raw_tables)))  # fmt: skip


def replay(admin: str, planned: Replay) -> Replay:
    """Empty raw, land every planned batch again (as the loader role), and gate the batches no gate had
    decided (their first load stopped before it), as the next load would have. A batch the gate cannot
    decide stays ``landed``, out of grading."""
    from credit_platform.ingest.gate import gate
    from credit_platform.ingest.loader import reland
    from credit_platform.warehouse.urls import libpq_url, url_for

    started = time.perf_counter()
    empty_raw(admin)
    loader = libpq_url(url_for("loader", admin))
    ungated = []
    for entry in planned.entries:
        result = reland(loader, entry, archive_dir=planned.archive_dir)
        planned.rows_loaded += result.rows_loaded
        planned.rows_rejected += result.rows_rejected
        if result.status == "landed":
            ungated.append(result.batch_id)
    if ungated:
        log.warning("batches %s were never gated; the raw quality gate decides them now", ungated)
        gate(loader, ungated, archive_dir=planned.archive_dir)
    planned.seconds = time.perf_counter() - started
    return planned

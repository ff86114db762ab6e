"""The raw quality gate applied: every loaded batch passes the raw checkpoint, or it is quarantined.

The loader commits a batch as ``landed``: its rows are in raw, and staging does not take them
yet. The raw stage's Great Expectations checkpoint (``expectations/raw.py``) then validates the
batch record and the rows it kept. A batch that passes becomes ``loaded`` (``gated_at`` set), and
only then feeds staging (dbt macro ``raw_rows``). A batch that fails (a required column missing
from the file, a rejected share above ``CREDIT_MAX_REJECTED_SHARE``, default 0.20, or kept rows
that break the raw suite) is quarantined:

* ``ops.load_batches.status`` becomes ``quarantined``, with the reason, the time and the
  validation run (``ops.validation_runs``, stage ``raw``, with its Data Docs page);
* its rows stay in raw for inspection, and staging leaves them out, so they feed no grade;
* the archive's ledger records it, so a rebuild quarantines it again;
* the caller (the ingestion task) fails, naming the file and the reason.

The gate fails closed and is crash-safe. A check that could not run (its query failed, timed out
or was cancelled) passes nothing: the batch is held (it stays ``landed``, the error in
``gate_error`` and in the failed validation run) and the caller fails, so that a retry gates it
again. A process killed after the COPY committed, or during the gate, also leaves the batch
``landed``; the next load finishes gating every such batch (``landed``). A file fixed and
delivered again is a new batch, checked afresh.
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from credit_platform.settings import paths

log = logging.getLogger(__name__)


def ungated(url: str, prefix: str = "") -> list[int]:
    """The batches left ``landed`` (loaded, not yet passed or quarantined) whose file is under ``prefix``."""
    pattern = prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    with psycopg.connect(url) as conn:
        return [b for (b,) in conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE status = 'landed' AND source_file LIKE %s ORDER BY batch_id",
            (pattern,))]  # fmt: skip


def gate(url: str, batch_ids: list[int], *, archive_dir: Path | None = None):
    """Validate the batches ``batch_ids`` (as the loader role at ``url``): pass, quarantine or hold each.

    Batches ``landed`` are gated; a ``loaded`` one is checked again (and quarantined if it now
    fails); others are left alone. Running it twice on a batch is harmless: the last verdict stands.
    Returns the verdicts (``credit_platform.quality.raw_gate.Verdict``).
    """
    from credit_platform.ingest.archive import append_ledger
    from credit_platform.ingest.config import sources
    from credit_platform.quality import raw_gate

    if not batch_ids:
        return []
    archive_dir = archive_dir or paths().archive
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT batch_id, source, source_file FROM ops.load_batches WHERE batch_id = ANY(%s)"
            " AND status IN ('landed', 'loaded') ORDER BY batch_id", (list(batch_ids),)).fetchall()  # fmt: skip
    if not rows:
        return []
    known = sources()
    verdicts = raw_gate.validate(url, [(b, s, f, known[s].table) for b, s, f in rows])
    with psycopg.connect(url) as conn:
        for v in verdicts:
            if v.held:
                conn.execute("UPDATE ops.load_batches SET gate_error = %s, validation_run_id = %s"
                             " WHERE batch_id = %s AND status = 'landed'",
                             (v.reason, v.validation_run_id, v.batch_id))  # fmt: skip
            elif v.passed:
                conn.execute("UPDATE ops.load_batches SET status = 'loaded', gated_at = clock_timestamp(),"
                             " gate_error = NULL, validation_run_id = %s"
                             " WHERE batch_id = %s AND status IN ('landed', 'loaded')",
                             (v.validation_run_id, v.batch_id))  # fmt: skip
            else:
                conn.execute(
                    "UPDATE ops.load_batches SET status = 'quarantined', quarantine_reason = %s,"
                    " quarantined_at = clock_timestamp(), gated_at = clock_timestamp(), gate_error = NULL,"
                    " validation_run_id = %s WHERE batch_id = %s AND status IN ('landed', 'loaded')",
                    (v.reason, v.validation_run_id, v.batch_id),
                )
        conn.commit()
        for v in verdicts:  # the ledger's last entry of a batch wins: a rebuild keeps the verdict
            if not v.held:
                batch = conn.cursor(row_factory=dict_row).execute(
                    "SELECT * FROM ops.load_batches WHERE batch_id = %s", (v.batch_id,)).fetchone()  # fmt: skip
                append_ledger(archive_dir, batch)
            if not v.passed:
                log.error("%s", v.message())
    return verdicts

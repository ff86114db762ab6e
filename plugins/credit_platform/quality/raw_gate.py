"""The raw quality gate: every loaded batch passes the raw checkpoint, or it is quarantined.

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
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.settings import paths

log = logging.getLogger(__name__)

DEFAULT_MAX_REJECTED_SHARE = 0.20
CHUNK = 150


def max_rejected_share() -> float:
    """``CREDIT_MAX_REJECTED_SHARE``: the share of a batch's rows that may be rejected (0 to 1)."""
    value = os.environ.get("CREDIT_MAX_REJECTED_SHARE", "").strip()
    if not value:
        return DEFAULT_MAX_REJECTED_SHARE
    try:
        share = float(value)
    except ValueError as exc:
        raise SystemExit(f"CREDIT_MAX_REJECTED_SHARE must be a number between 0 and 1, got {value!r}") from exc
    if not 0 <= share <= 1:
        raise SystemExit(f"CREDIT_MAX_REJECTED_SHARE must be between 0 and 1, got {value!r}")
    return share


@dataclass
class Verdict:
    batch_id: int
    source_file: str
    passed: bool
    reason: str | None = None
    data_docs_url: str | None = None
    validation_run_id: int | None = None
    held: bool = False  # the checks could not run: neither passed nor quarantined, gated again later

    def message(self) -> str:
        docs = f" (Data Docs: {self.data_docs_url}, make docs)" if self.data_docs_url else ""
        if self.held:
            return (f"{self.source_file}: batch {self.batch_id} 校验未能完成，暂不参与评价，请重新运行加载 / held, not"
                    f" graded: the raw quality gate could not run its checks ({self.reason}); run the load again to"
                    f" gate it{docs}")  # fmt: skip
        return f"{self.source_file}: batch {self.batch_id} quarantined, not graded: {self.reason}{docs}"


def _reason(failures: list[dict]) -> str:
    parts = []
    for f in failures:
        rule = f["kwargs"].get("rule") or f"{f['expectation']} {f['kwargs']}"
        if f["unexpected_count"] is None:
            parts.append(f"{rule}: the check could not run ({'; '.join(map(str, f['partial_unexpected_list']))})")
        else:
            parts.append(f"{rule}: {f['unexpected_count']} unexpected, e.g. {f['partial_unexpected_list'][:3]}")
    return "; ".join(parts)


def _verdict(outcome, batch_id: int, source_file: str) -> Verdict:
    """Passed, quarantined (some check found the batch wrong) or held (some check could not run)."""
    failures = outcome.failures_of(batch_id)
    pages = [v.get("data_docs_url") for v in outcome.validations.values()
             if batch_id in (v["keys"] or ()) and not v["success"]]  # fmt: skip
    found = [f for f in failures if not f.get("error")]
    held = bool(failures) and not found  # a definite failure quarantines even when another check errored
    return Verdict(batch_id, source_file, not failures, _reason(failures) if failures else None,
                   pages[0] if pages else None, outcome.validation_run_id, held)  # fmt: skip


def ungated(url: str, prefix: str = "") -> list[int]:
    """The batches left ``landed`` (loaded, not yet passed or quarantined) whose file is under ``prefix``."""
    pattern = prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    with psycopg.connect(url) as conn:
        return [b for (b,) in conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE status = 'landed' AND source_file LIKE %s ORDER BY batch_id",
            (pattern,))]  # fmt: skip


def gate(url: str, batch_ids: list[int], *, archive_dir: Path | None = None) -> list[Verdict]:
    """Validate the batches ``batch_ids`` (as the loader role at ``url``): pass, quarantine or hold each.

    Batches ``landed`` are gated; a ``loaded`` one is checked again (and quarantined if it now
    fails); others are left alone. Running it twice on a batch is harmless: the last verdict stands.
    """
    from credit_platform.ingest.archive import append_ledger
    from credit_platform.ingest.config import sources

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
    verdicts, runs = [], []
    # At most CHUNK batches per checkpoint run: a rule returns one row per failing batch, and GX
    # returns at most 200 rows of a rule.
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        batches = [{"batch_id": b, "source": s, "table": known[s].table} for b, s, _ in chunk]
        outcome = run_checkpoint(url, "raw", raise_on_failure=False, batches=batches,
                                 max_rejected_share=max_rejected_share())  # fmt: skip
        runs.append(outcome)
        verdicts += [_verdict(outcome, batch_id, source_file) for batch_id, _source, source_file in chunk]
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
                cur = conn.execute("SELECT * FROM ops.load_batches WHERE batch_id = %s", (v.batch_id,))
                append_ledger(archive_dir, dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True)))
            if not v.passed:
                log.error("%s", v.message())
    log.info("raw gate: %s of %s batch(es) passed, %s held, in %.2f s", sum(v.passed for v in verdicts),
             len(verdicts), sum(v.held for v in verdicts), sum(o.seconds for o in runs))  # fmt: skip
    return verdicts

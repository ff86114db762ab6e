"""The raw quality gate's checks: the raw checkpoint's verdict on each load batch.

The raw stage's Great Expectations checkpoint (``expectations/raw.py``) validates each batch's
record and the rows it kept. A batch fails when a required column is missing from its file, when
its rejected share is above ``CREDIT_MAX_REJECTED_SHARE`` (default 0.20), or when kept rows break
the raw suite; it is *held* when a check could not run (its query failed, timed out or was
cancelled): the gate fails closed.

This module validates and records the validation run (``ops.validation_runs``, with its Data Docs
page) and nothing else: the batch's status and the archive's ledger are ingest's to write
(``credit_platform.ingest.gate`` applies the verdicts).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from credit_platform.quality.checkpoints import run_checkpoint

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


def validate(url: str, batches: list[tuple[int, str, str, str]]) -> list[Verdict]:
    """The raw checkpoint's verdict on each batch ``(batch_id, source, source_file, raw table)``, as the
    loader role at ``url``: passed, quarantined (a check found it wrong) or held (a check could not run).

    Writes nothing but the validation runs; at most ``CHUNK`` batches per checkpoint run (a rule returns
    one row per failing batch, and Great Expectations returns at most 200 rows of a rule).
    """
    verdicts, seconds = [], 0.0
    for start in range(0, len(batches), CHUNK):
        chunk = batches[start : start + CHUNK]
        outcome = run_checkpoint(url, "raw", raise_on_failure=False,
                                 batches=[{"batch_id": b, "source": s, "table": t} for b, s, _f, t in chunk],
                                 max_rejected_share=max_rejected_share())  # fmt: skip
        seconds += outcome.seconds
        verdicts += [_verdict(outcome, batch_id, source_file) for batch_id, _s, source_file, _t in chunk]
    log.info("raw gate: %s of %s batch(es) passed, %s held, in %.2f s", sum(v.passed for v in verdicts),
             len(verdicts), sum(v.held for v in verdicts), seconds)  # fmt: skip
    return verdicts

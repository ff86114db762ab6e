"""Fuzzing the loader with damaged files made from the demo generator's own (``tests/fuzz.py``).

All of them are loaded in one run, as an ingest task would: the run must end (no exception gets
out), and for each file there is a batch whose state says what happened, with the reason when it
failed or was quarantined; every row read is loaded or rejected, and a failed batch keeps nothing.
Nothing may surprise the loader: no file may end in an error it did not foresee (logged with a
traceback). The outcomes by state are printed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import fuzz
import psycopg
import pytest
from psycopg import sql

from credit_platform.ingest import loader
from credit_platform.ingest.config import source_for
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("fuzz") as url:
        yield url


def _kept(conn, rel: str, batch_id: int) -> tuple[int, int, int]:
    """Rows of the batch in its raw table, in ops.rejected_rows and in raw.protected_person_records."""
    table = sql.Identifier(*source_for(rel).table.split("."))
    raw = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE batch_id = %s").format(table), (batch_id,)).fetchone()[0]
    rejected = conn.execute("SELECT count(*) FROM ops.rejected_rows WHERE batch_id = %s", (batch_id,)).fetchone()[0]
    protected = conn.execute("SELECT count(*) FROM raw.protected_person_records WHERE batch_id = %s",
                             (batch_id,)).fetchone()[0]  # fmt: skip
    return raw, rejected, protected


def test_damaged_files_each_end_in_a_state_with_a_reason_and_the_run_goes_on(db, tmp_path, monkeypatch, caplog,
                                                                             capsys):  # fmt: skip
    inbox = tmp_path / "inbox"
    monkeypatch.setenv("CREDIT_ARCHIVE", str(tmp_path / "archive"))
    made = fuzz.build(inbox, tmp_path)
    assert len(made) >= 200
    files = sorted(made)

    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING):
        results, failures = loader.load_files(libpq_url(url_for("loader", db)), files, inbox=inbox)
    seconds = time.monotonic() - t0
    surprises = [f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records if r.exc_info]
    assert not surprises, "errors the loader did not foresee:\n" + "\n".join(surprises[:5])

    by_state: Counter[str] = Counter()
    by_mutation: dict[str, Counter[str]] = {}
    examples: dict[str, str] = {}  # mutation -> the message of a file it made unreadable
    problems = []
    with psycopg.connect(libpq_url(db)) as conn:
        batches = {r[0]: r[1:] for r in conn.execute(
            "SELECT DISTINCT ON (source_file) source_file, batch_id, status, rows_in, rows_loaded, rows_rejected,"
            " rows_protected, message, quarantine_reason FROM ops.load_batches WHERE source_file = ANY(%s)"
            " ORDER BY source_file, batch_id DESC", (files,))}  # fmt: skip
        for rel in files:
            if rel not in batches:
                problems.append(f"{rel}: no batch")
                continue
            batch_id, status, rows_in, loaded, rejected, protected, message, reason = batches[rel]
            by_state[status] += 1
            by_mutation.setdefault(made[rel], Counter())[status] += 1
            if status == "failed":
                examples.setdefault(made[rel], message)
            raw, rejected_rows, protected_rows = _kept(conn, rel, batch_id)
            if status == "failed":
                if not (message or "").startswith(f"{rel}: ") or len(message) <= len(rel) + 2:
                    problems.append(f"{rel}: failed without a reason ({message!r})")
                if (raw, rejected_rows, protected_rows) != (0, 0, 0) or loaded:
                    problems.append(f"{rel}: failed, yet keeps rows {raw, rejected_rows, protected_rows}")
            elif status in ("loaded", "quarantined"):
                if status == "quarantined" and not reason:
                    problems.append(f"{rel}: quarantined without a reason")
                if rows_in != loaded + rejected:
                    problems.append(f"{rel}: rows in {rows_in} != loaded {loaded} + rejected {rejected}")
                held = (raw + protected_rows, rejected_rows, protected_rows)
                if held != (loaded, rejected, protected):
                    problems.append(f"{rel}: the batch says {loaded, rejected, protected} rows loaded, rejected,"
                                    f" protected; the tables hold {held}")  # fmt: skip
            elif status != "duplicate":
                problems.append(f"{rel}: left {status}")
    assert not problems, "\n".join(problems[:20])
    assert len(failures) == by_state["failed"] + by_state["quarantined"]
    assert {r.file for r in results} == {f for f in files if batches[f][1] != "failed"}

    with capsys.disabled():
        print(f"\nfuzz: {len(files)} files in {seconds:.1f} s; by state: "
              + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())))  # fmt: skip
        for mutation, states in sorted(by_mutation.items()):
            print(f"  {mutation:34} " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
            if mutation in examples:
                print(f"      e.g. {examples[mutation][:150]}")

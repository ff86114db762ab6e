"""Loading and gating a batch costs what the batch costs, whatever the size of the raw table it lands in.

The same small penalties batch (2,000 rows) is loaded and gated, through the loader as the loader
role, into ``raw.penalties`` holding 10,000 rows and then holding 2,000,000. PostgreSQL's own
counters for the table (``pg_stat_user_tables``: rows read by sequential scans and fetched through
indexes) say how many rows the load and its raw gate read there. They may not grow with the table:
no sequential scan of it, and not more than twice as many rows read at 2,000,000 as at 10,000. What
is read is the batch's block ranges of the BRIN index on ``batch_id`` (128 pages each, so some rows
of other batches share them), once per check of the gate: measured, 50,336 rows at 10,000 and
46,145 at 2,000,000 on PostgreSQL 18 (141,856 and 130,045 with one pass per cell rule, 82,164,000
at 2,000,000 without the index).

Each load runs in its own process, as the ingest task does: its connections end with it, and a
backend flushes its counters as it exits.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import psycopg
import pytest

from credit_platform import uscc
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = [pytest.mark.integration, pytest.mark.server_version]

BATCH = 2000
HEADER = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_WFXW", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
FILL = """
INSERT INTO raw.penalties (batch_id, source_file, row_number, department_code, subject_name, subject_category,
                           uscc, decision_number, violation_type, penalty_category, fine_amount, decision_date,
                           authority_name)
SELECT %(batch)s::bigint, 'departments/scjgj/history.csv', g, 'scjgj', '历史主体' || g, '法人及非法人组织',
       '91140681MA0L12345X', '怀市监罚〔2024〕' || g || '号', '未按规定公示年度报告', '罚款', '0.5',
       '2024-0' || (1 + g %% 9) || '-1' || (g %% 9), '怀仁市市场监督管理局'
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""
_LOAD = r"""
import json, sys
from pathlib import Path
from credit_platform.ingest.loader import load_file
url = sys.stdin.readline().strip()
r = load_file(url, sys.argv[1], inbox=Path(sys.argv[2]), archive_dir=Path(sys.argv[3]))
print(json.dumps({"status": r.status, "loaded": r.rows_loaded, "rejected": r.rows_rejected}))
"""


def _fill(admin: str, batch_id: int, first: int, last: int) -> None:
    with psycopg.connect(admin) as conn:
        conn.execute(FILL, {"batch": batch_id, "first": first, "last": last})
        conn.execute("UPDATE ops.load_batches SET rows_in = %s, rows_loaded = %s WHERE batch_id = %s",
                     (last, last, batch_id))  # fmt: skip
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE raw.penalties")  # history has its statistics; the new batch will not


def _batch_file(folder, name: str, tag: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(BATCH):
            w.writerow(["测试主体", "法人及非法人组织", uscc.make("91", "140681", f"MA{i:06d}"),
                        f"怀市监罚〔2025〕{tag}{i}号", "未按规定公示年度报告", "罚款", "0.5",
                        f"2025-{1 + i % 9}-{1 + i % 27}", "怀仁市市场监督管理局"])  # fmt: skip
    return f"departments/scjgj/{name}"


def _counters(conn) -> tuple[int, int]:
    """(sequential scans, rows read by them and fetched by index scans) of raw.penalties so far."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    scans, rows = conn.execute(
        "SELECT seq_scan, seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables"
        " WHERE relid = 'raw.penalties'::regclass").fetchone()  # fmt: skip
    return scans, rows


def _settled(conn) -> tuple[int, int]:
    """The counters once every other session of the database has ended and flushed them."""
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        (others,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()").fetchone()  # fmt: skip
        now = _counters(conn)
        if others == 0 and now == last:
            return now
        last = now
        time.sleep(0.3)
    raise AssertionError("the load's sessions did not end within 30 s")


def _load_and_gate(url: str, admin: str, relative: str, inbox, archive) -> tuple[int, int]:
    with psycopg.connect(admin, autocommit=True) as conn:
        before = _settled(conn)
        res = subprocess.run([sys.executable, "-c", _LOAD, relative, str(inbox), str(archive)],
                             input=libpq_url(url_for("loader", url)) + "\n", capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert out == {"status": "loaded", "loaded": BATCH, "rejected": 0}, out
        after = _settled(conn)
    return after[0] - before[0], after[1] - before[1]


def test_a_batch_costs_the_same_in_a_table_of_10_thousand_rows_and_of_2_million(migrated_database, tmp_path):
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    folder = inbox / "departments" / "scjgj"
    with migrated_database("batchcost") as url:
        admin = libpq_url(url)
        with psycopg.connect(admin) as conn:
            (history,) = conn.execute(
                "INSERT INTO ops.load_batches (source, department_code, source_file, file_sha256, status, rows_in,"
                " rows_loaded, rows_rejected, finished_at, gated_at) VALUES ('penalty', 'scjgj',"
                " 'departments/scjgj/history.csv', repeat('a', 64), 'loaded', 0, 0, 0, now(), now())"
                " RETURNING batch_id").fetchone()  # fmt: skip
        _fill(admin, history, 1, 10_000)
        small = _load_and_gate(url, admin, _batch_file(folder, "penalties_a.csv", "A"), inbox, archive)
        _fill(admin, history, 10_001, 2_000_000)
        large = _load_and_gate(url, admin, _batch_file(folder, "penalties_b.csv", "B"), inbox, archive)

    assert small[0] == 0 and large[0] == 0, f"a sequential scan of raw.penalties: {small}, {large}"
    # Something was read (the counters work), and not more at 2,000,000 rows than at 10,000.
    assert small[1] >= BATCH and large[1] >= BATCH
    assert large[1] <= 2 * small[1], (
        f"rows of raw.penalties read to load and gate {BATCH:,} rows: {small[1]:,} in a table of 10,000 rows,"
        f" {large[1]:,} in one of 2,000,000")  # fmt: skip

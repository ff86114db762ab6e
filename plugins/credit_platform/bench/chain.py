"""``make bench``: the whole chain on a generated city of ``BENCH_SCALE`` subjects, stage by stage.

On a fresh database of the warehouse server (``credit_bench_chain``), each stage runs in a process
of its own (``stages.py``), from a checkpoint, so that none pays for the WAL the one before wrote:

    generate  the demo generator's city at this scale (kept when the same city is there already)
    load      every file, as the loader role, each in its own transaction (not gated)
              limit: the same rows as CSV, streamed by COPY into text tables (copy)
    gate      the raw gate (Great Expectations) on every batch, a folder's batches together
              limit: one plain scan of every batch's rows in raw, each cell read (scan)
    grade     dbt build without tests (seeds, models, the snapshot): the grades with their
              explanations; after an untimed ANALYZE, as autovacuum would have run by then
              limit: the scores in one query that reads each record once (one_pass.sql), asserted
              equal to the model's
    validate  dbt test, the marts checkpoint and the drift check
    publish   publication to the file outbox (prepare, the publication checkpoint, send)
    draw      the round announced, every department's plans drawn, the verification kits written
    next_run  the first period closed and built once, then a small batch for the open period loaded,
              gated and graded (timed): grading by period keeps the closed period (compare with
              grade); the closing is taken back afterwards. Not part of the chain's total.

It prints per stage the wall time, the peak memory of its process and of the largest process it
waited for (dbt), the rows it handled per second, and the limit beside it with the ratio. The
server's own processes are not counted. The table is also written as JSON to
``.local/bench/chain-<subjects>.json``, for comparing two scales (``compare``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from credit_platform.settings import paths
from credit_platform.warehouse import access, migrate
from credit_platform.warehouse.urls import libpq_url, render, url_for

DATABASE = "credit_bench_chain"
DEFAULT_SCALE = 100_000
#: (stage, its limit, what the targets allow: the stage's time over the limit's)
PAIRS = [("load", "copy", 2.0), ("gate", "scan", 2.0), ("grade", "one_pass", 3.0)]
ORDER = ["generate", "load", "copy", "gate", "scan", "grade", "one_pass", "validate", "publish", "draw", "next_run"]


@dataclass
class Stage:
    name: str
    seconds: float
    peak_mib: float
    rows: int
    timed: float | None = None  # the limits: the measured part alone (COPY, the scan, the query)
    extra: dict = field(default_factory=dict)

    @property
    def wall(self) -> float:
        return self.timed if self.timed is not None else self.seconds


def scale() -> int:
    """``BENCH_SCALE`` (subjects), default 100,000."""
    raw = os.environ.get("BENCH_SCALE", "").replace("_", "").replace(",", "").strip()
    if not raw:
        return DEFAULT_SCALE
    if not raw.isdigit() or int(raw) < 200:
        raise ValueError(f"BENCH_SCALE={raw!r}: give a number of subjects, at least 200 (e.g. 100000)")
    return int(raw)


def _fresh(server_url: str) -> str:
    access.drop_database(server_url, DATABASE)
    access.create_database(server_url, DATABASE)
    admin = render(make_url(server_url).set(database=DATABASE))
    migrate.migrate(admin)
    return admin


def _checkpoint(admin: str) -> None:
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _run(stage: str, settings: dict, log: Path) -> Stage:
    _checkpoint(settings["sqlalchemy_admin"])
    res = subprocess.run([sys.executable, "-m", "credit_platform.bench.stages", stage],
                         input=json.dumps(settings) + "\n", capture_output=True, text=True)  # fmt: skip
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"=== {stage}\n{res.stderr}\n{res.stdout}\n")
    if res.returncode != 0:
        raise RuntimeError(f"bench stage {stage} failed (log: {log}):\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    peak = max(out.pop("peak_mib"), out.pop("children_peak_mib"))
    return Stage(stage, out.pop("seconds"), peak, int(out.pop("rows")), out.pop("timed", None), out)


def run(server_url: str, subjects: int | None = None, *, seed: int = 42, keep: bool = False,
        only: list[str] | None = None, say=print) -> list[Stage]:  # fmt: skip
    """Run every stage at ``subjects`` (default ``BENCH_SCALE``) and return them; the database is
    dropped afterwards unless ``keep``. ``only``: those stages, on the database a kept run left
    (to measure one stage again)."""
    subjects = subjects or scale()
    base = paths().local / "bench" / f"chain-{subjects}"
    inbox, archive, outbox = base / "inbox", base / "archive", base / "outbox"
    manifest = base / "manifest.json"
    log = base / "stages.log"
    base.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    admin = _fresh(server_url) if only is None else render(make_url(server_url).set(database=DATABASE))
    settings = {
        "sqlalchemy_admin": admin, "admin": libpq_url(admin), "loader": libpq_url(url_for("loader", admin)),
        "publisher": libpq_url(url_for("publisher", admin)), "inbox": str(inbox), "archive": str(archive),
        "outbox": str(outbox), "manifest": str(manifest), "seed": seed, "subjects": subjects,
    }  # fmt: skip
    for folder in (archive, outbox):  # every run starts from an empty archive and outbox
        if folder.exists() and only is None:
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    stages = []
    try:
        for name in only or ORDER:
            if name == "generate" and _generated(manifest, seed, subjects):
                say(f"  generate: the city of {subjects:,} subjects is in {inbox} already; kept")
                continue
            if name == "grade":  # the raw tables' statistics, as autovacuum has them by the time grading runs
                with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
                    conn.execute("ANALYZE")
            stage = _run(name, settings, log)
            stages.append(stage)
            say(f"  {name:9} {stage.wall:8.1f} s  {stage.rows:>12,} rows  peak {stage.peak_mib:6.0f} MiB")
    finally:
        if not keep:
            access.drop_database(server_url, DATABASE)
    (base.parent / f"chain-{subjects}.json").write_text(
        json.dumps({"subjects": subjects, "stages": [s.__dict__ for s in stages]}, indent=1), encoding="utf-8")
    return stages


def _generated(manifest: Path, seed: int, subjects: int) -> bool:
    if not manifest.exists():
        return False
    m = json.loads(manifest.read_text(encoding="utf-8"))
    from credit_platform.demo.generate import GENERATOR_VERSION

    inbox = manifest.parent / "inbox"
    return ((m.get("seed"), m.get("subjects"), m.get("generator_version")) == (seed, subjects, GENERATOR_VERSION)
            and all((inbox / f).exists() for f in m["files"]))  # fmt: skip


def table(stages: list[Stage], subjects: int) -> str:
    by = {s.name: s for s in stages}
    lines = [f"The whole chain at {subjects:,} subjects ({time.strftime('%Y-%m-%d')}):",
             f"  {'stage':9} {'seconds':>8} {'rows':>12} {'rows/s':>10} {'peak MiB':>9}   limit"]  # fmt: skip
    for s in stages:
        if s.name in {limit for _, limit, _ in PAIRS}:
            continue
        rate = s.rows / s.wall if s.wall else 0
        limit = ""
        for stage, lim, allowed in PAIRS:
            if stage == s.name and lim in by:
                ratio = s.wall / by[lim].wall if by[lim].wall else float("inf")
                verdict = "meets" if ratio <= allowed else "MISSES"
                limit = (f"{lim} {by[lim].wall:.1f} s ({by[lim].rows:,} rows): x{ratio:.2f},"
                         f" target at most x{allowed:g} ({verdict})")
        lines.append(f"  {s.name:9} {s.wall:8.1f} {s.rows:>12,} {rate:>10,.0f} {s.peak_mib:>9.0f}   {limit}")
    platform = [s for s in stages if s.name not in {"generate", "next_run", *(lim for _, lim, _ in PAIRS)}]
    chain = sum(s.wall for s in platform)
    peak = max((s.peak_mib for s in platform), default=0)
    lines.append(f"  chain (load to draw) {chain:.0f} s; target under 900 s at 1,000,000 subjects;"
                 f" the largest process {peak:.0f} MiB (target under 4,096)")  # fmt: skip
    for s in stages:
        if s.extra:
            lines.append(f"  {s.name}: " + ", ".join(f"{k} {round(v, 1) if isinstance(v, float) else v}"
                                                      for k, v in s.extra.items()))  # fmt: skip
    return "\n".join(lines)


def compare(small: int, large: int) -> str:
    """Growth per stage between two runs written by ``run`` (``.local/bench/chain-<n>.json``); a stage
    growing more than 10% faster than the city is marked."""
    base = paths().local / "bench"
    a, b = ({s["name"]: s for s in json.loads((base / f"chain-{n}.json").read_text())["stages"]}
            for n in (small, large))  # fmt: skip
    factor = large / small
    lines = [f"Growth from {small:,} to {large:,} subjects (x{factor:g}); linear growth is x{factor:g}:"]
    for name in ORDER:
        if name in a and name in b:
            ta = a[name]["timed"] if a[name].get("timed") is not None else a[name]["seconds"]
            tb = b[name]["timed"] if b[name].get("timed") is not None else b[name]["seconds"]
            growth = tb / ta if ta else float("inf")
            lines.append(f"  {name:9} {ta:8.1f} s -> {tb:8.1f} s  x{growth:5.1f}"
                         f"  {'(faster than linear)' if growth > factor * 1.1 else ''}")  # fmt: skip
    return "\n".join(lines)

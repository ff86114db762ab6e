"""One stage of the whole-chain benchmark, run in a process of its own:

    python -m credit_platform.bench.stages STAGE   (its settings as one JSON object on standard input)

It prints one JSON line: the stage's wall time, the peak resident memory of its process and of the
processes it waited for (dbt), the rows it handled and what else it measured. The stages call the
functions the DAG tasks call (the loader, the raw gate, dbt as the transformer, the marts
checkpoint and the drift check, publication to the file outbox, the draw), not copies of them.
The settings carry the URLs (never on a command line, which every user of the machine can read)
and the folders.
"""

from __future__ import annotations

import csv
import io
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

STAGES = ("generate", "load", "copy", "gate", "scan", "grade", "one_pass", "validate", "publish", "draw", "next_run")
#: the grade stage's dbt command: seeds, models and the snapshot, without tests (the validate stage)
BUILD = ["build", "--quiet", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


def _peak_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of the largest child it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def generate(s: dict) -> dict:
    from credit_platform.demo.generate import generate as make

    manifest = make(Path(s["inbox"]), Path(s["manifest"]), seed=s["seed"], subjects=s["subjects"])
    return {"rows": manifest["totals"]["rows"], "files": len(manifest["files"])}


def _folders(inbox: Path) -> list[str]:
    """The inbox folders in the order the DAGs load them: the province, then each department."""
    departments = sorted(p.name for p in (inbox / "departments").iterdir() if p.is_dir())
    return ["province/", *(f"departments/{d}/" for d in departments)]


def _files(inbox: Path) -> list[str]:
    """The inbox's files in the order the DAGs load them, as the loader discovers them."""
    from credit_platform.ingest.loader import discover

    return [f for folder in _folders(inbox) for f in discover(inbox, prefix=folder)]


def load(s: dict) -> dict:
    """Every file of the inbox, each in its own transaction, as the loader role; not gated (the next stage)."""
    from credit_platform.ingest.loader import load_file

    inbox, archive = Path(s["inbox"]), Path(s["archive"])
    files = _files(inbox)
    statuses = Counter(load_file(s["loader"], rel, inbox=inbox, archive_dir=archive, gate=False).status
                       for rel in files)  # fmt: skip
    with psycopg.connect(s["loader"]) as conn:
        rows_in, loaded, rejected, unreturned = conn.execute(
            "SELECT sum(rows_in), sum(rows_loaded), sum(rows_rejected), sum(rows_not_returned)"
            " FROM ops.load_batches").fetchone()  # fmt: skip
    return {"rows": int(rows_in + unreturned), "files": len(files), "statuses": dict(statuses), "loaded": int(loaded),
            "rejected": int(rejected), "not_returned": int(unreturned)}  # fmt: skip


def _rows_of(path: Path) -> tuple[list[str], list[list[str]]]:
    """A file's header and rows as text, read with the ingest's readers (CSV, XLSX, JSON)."""
    from credit_platform.ingest.readers import detect_encoding, read_json, read_xlsx

    def widest(header: list) -> int:
        return sum(1 for h in header if h not in (None, ""))

    if path.suffix.lower() == ".csv":
        with open(path, encoding=detect_encoding(path), newline="") as fh:
            lines = list(csv.reader(fh))
        return lines[0], lines[1:]
    table = (read_xlsx if path.suffix.lower() == ".xlsx" else read_json)(path, widest)
    return [str(h) for h in table.header], [["" if c is None else str(c) for c in cells] for _, cells in table.rows]


def copy(s: dict) -> dict:
    """The loading limit: the same rows as UTF-8 CSV, streamed by COPY into a table of text columns.

    Each file is read and written as CSV first, untimed (the readers' work is not COPY's); the
    timed part is COPY alone, one table per file, as the loader lands one batch per file.
    """
    inbox = Path(s["inbox"])
    prepared = []
    for rel in _files(inbox):
        header, rows = _rows_of(inbox / rel)
        width = max([len(header), *(len(r) for r in rows)])
        buf = io.StringIO()
        csv.writer(buf).writerows(r + [""] * (width - len(r)) for r in rows)
        prepared.append((width, buf.getvalue().encode("utf-8"), len(rows)))
    t0 = time.perf_counter()
    with psycopg.connect(s["admin"]) as conn:
        for n, (width, data, _) in enumerate(prepared):
            columns = ", ".join(f"c{i} text" for i in range(width))
            conn.execute(f"CREATE TABLE bench_copy_{n} ({columns})")  # noqa: S608 - a number and a width
            with conn.cursor() as cur, cur.copy(f"COPY bench_copy_{n} FROM STDIN (FORMAT csv)") as cp:
                for at in range(0, len(data), 1 << 20):
                    cp.write(data[at:at + (1 << 20)])
    return {"rows": sum(r for _, _, r in prepared), "timed": time.perf_counter() - t0}


def _batches_by_folder(url: str, inbox: Path) -> list[tuple[str, list[int]]]:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT batch_id, source_file FROM ops.load_batches WHERE status = 'landed'"
                             " ORDER BY batch_id").fetchall()  # fmt: skip
    out = []
    for folder in _folders(inbox):
        ids = [b for b, f in found if f and f.startswith(folder)]
        if ids:
            out.append((folder, ids))
    return out


def gate(s: dict) -> dict:
    """The raw gate on every landed batch, a folder's batches together (as each ingest task gates them)."""
    from credit_platform.ingest.gate import gate as run_gate

    statuses = Counter("held" if v.held else "passed" if v.passed else "quarantined"
                       for _, ids in _batches_by_folder(s["loader"], Path(s["inbox"]))
                       for v in run_gate(s["loader"], ids, archive_dir=Path(s["archive"])))  # fmt: skip
    with psycopg.connect(s["loader"]) as conn:
        (rows,) = conn.execute("SELECT coalesce(sum(rows_loaded), 0) FROM ops.load_batches"
                               " WHERE gated_at IS NOT NULL").fetchone()  # fmt: skip
    return {"rows": int(rows), "batches": statuses.total(), "statuses": dict(statuses)}


def scan(s: dict) -> dict:
    """The gate's limit: one plain scan of every batch's rows in raw, each cell read (its text form)."""
    from credit_platform.ingest import raw_tables

    tables = {t.source: t.table for t in raw_tables().values()}
    with psycopg.connect(s["admin"]) as conn:
        batches = conn.execute("SELECT batch_id, source FROM ops.load_batches WHERE rows_loaded > 0").fetchall()
        by_table: dict[str, list[int]] = {}
        for b, source in batches:
            by_table.setdefault(tables[source], []).append(b)
        t0 = time.perf_counter()
        rows = 0
        for table, ids in sorted(by_table.items()):
            (n, _) = conn.execute(f"SELECT count(*), sum(length(r::text)) FROM {table} AS r"  # noqa: S608
                                  " WHERE batch_id = ANY(%s)", (ids,)).fetchone()  # fmt: skip
            rows += n
    return {"rows": rows, "timed": time.perf_counter() - t0}


def _dbt(args: list[str], admin: str) -> None:
    from credit_platform.grading.dbt_runner import run_dbt

    res = run_dbt(args, base_url=admin, capture=True)
    if res.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{res.stdout[-4000:]}{res.stderr[-2000:]}")


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(query).fetchone()[0])


def grade(s: dict) -> dict:
    """Seeds, models (the grades with their explanations) and the snapshot, in one dbt process as the
    transformer; their tests are the validate stage."""
    _dbt(BUILD, s["sqlalchemy_admin"])
    return {"rows": _count(s["admin"], "SELECT count(*) FROM marts.fct_industry_credit_grades"),
            "explanation_lines": _count(s["admin"], "SELECT count(*) FROM marts.fct_grade_explanations")}


def one_pass(s: dict) -> dict:
    """Grading's limit: the scores in one query that reads each record once (``one_pass.sql``), checked
    equal to the model's."""
    from credit_platform.bench import one_pass as op

    rows, differing, seconds = op.compare(s["admin"])
    if differing:
        raise RuntimeError(f"the one-pass scores differ from the model's for {differing:,} of {rows:,} grades")
    return {"rows": rows, "differing": differing, "timed": seconds}


def validate(s: dict) -> dict:
    """dbt's tests, then the marts checkpoint and the drift check, as grade_industries runs them."""
    from credit_platform.quality.checkpoints import run_checkpoint
    from credit_platform.quality.drift import check_drift

    t0 = time.perf_counter()
    _dbt(["test", "--quiet", "--exclude-resource-type", "unit_test"], s["sqlalchemy_admin"])
    tests = time.perf_counter() - t0
    outcome = run_checkpoint(s["publisher"], "marts")
    drift = check_drift(s["publisher"])
    return {"rows": _count(s["admin"], "SELECT count(*) FROM marts.fct_industry_credit_grades"),
            "dbt_test_seconds": tests, "expectations": outcome.evaluated, "drift_ok": drift.success}


def _send(url: str, outbox: str, platform: str) -> tuple[int, int]:
    from credit_platform.publish import run

    report = run.send(url, outbox=Path(outbox), platforms=[platform])
    return len(report.batches), sum(b.upserts + b.withdrawals for b in report.batches)


def publish(s: dict) -> dict:
    """Publication to the file-drop platforms of the outbox: prepare (the rebuild and the publication
    checkpoint), then one send per platform in a process of its own, as the DAG's mapped send tasks
    run, at most as many at once as the machine has cores."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    from credit_platform.publish import config, run

    ready = run.prepare(s["publisher"])
    t0 = time.perf_counter()
    names = list(config.load().platforms)
    with ProcessPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        sent = list(pool.map(_send, repeat(s["publisher"]), repeat(s["outbox"]), names))
    return {"rows": sum(ready.rows.values()), "batches": sum(b for b, _ in sent), "items": sum(i for _, i in sent),
            "prepare_seconds": ready.seconds, "send_seconds": time.perf_counter() - t0}


def draw(s: dict) -> dict:
    """The round announced (a demo value), then every department's plans drawn and the kits written."""
    from credit_platform.inspection import kits
    from credit_platform.inspection.draw import draw as run
    from credit_platform.local.chain import announce_demo_draw
    from credit_platform.publish import latest_period

    with psycopg.connect(s["publisher"]) as conn:
        period = latest_period(conn)
    announce_demo_draw(s["sqlalchemy_admin"], draw_round=period)
    t0 = time.perf_counter()
    results = run(s["publisher"], period, draw_round=period)
    written = kits.write(s["publisher"], Path(s["outbox"]), period)
    population = sum(sum(r.population.values()) for r in results if r.status == "drawn")
    return {"rows": population, "plans": len(results), "kits": len(written), "timed": time.perf_counter() - t0}


def next_run(s: dict) -> dict:
    """The next run once a period is closed, timed against the grade stage: the first period closed
    (as close-period records it) and built once under its cutoff (untimed), then a small batch for
    the open period (province evaluations of one subject in a hundred) loaded, gated and graded,
    timed: the closed period is kept, the open one computed again. Then publication's prepare, timed
    apart (``prepare_seconds``, with the grades it searched for ID numbers and those its checkpoint
    validated: what changed, ``grades_searched`` and ``grades_validated``). The closing and the file are
    taken back afterwards, so that a kept database stays one of open periods (the one-pass stage
    reads open periods only) and a later load stage loads the generated city alone."""
    from credit_platform.grading.periods import close_period
    from credit_platform.ingest.loader import load_file
    from credit_platform.publish import run as publication

    with psycopg.connect(s["publisher"]) as conn:
        periods = conn.execute("SELECT evaluation_period, period_end_date FROM marts.dim_evaluation_periods"
                               " ORDER BY period_end_date").fetchall()  # fmt: skip
        subjects = [u for (u,) in conn.execute("SELECT uscc FROM marts.dim_subjects ORDER BY md5(uscc) LIMIT %s",
                                               (max(1, s["subjects"] // 100),))]  # fmt: skip
    closed, (_, end) = periods[0][0], periods[-1]
    models = ("marts.fct_industry_credit_grades", "marts.fct_grade_explanations")  # their points likewise

    def writers() -> dict[str, set[str]]:  # the transactions that wrote the closed period's rows
        with psycopg.connect(s["admin"]) as conn:
            return {m: {x for (x,) in conn.execute(f"SELECT DISTINCT xmin::text FROM {m}"  # noqa: S608
                                                   " WHERE evaluation_period = %s", (closed,))} for m in models}

    inbox = Path(s["inbox"])
    rel = "province/province_evaluation_bench_next_run.csv"
    closure = close_period(s["admin"], closed, requested_by="bench")
    try:
        t0 = time.perf_counter()
        _dbt(BUILD, s["sqlalchemy_admin"])
        closing = time.perf_counter() - t0
        with open(inbox / rel, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["统一社会信用代码", "评价等级", "评价日期", "批次号"])
            batch = f"BENCH-{closure.cutoff_at:%Y%m%d%H%M%S}"  # a new file each run, never a duplicate of the last
            w.writerows([u, "B", end.isoformat(), batch] for u in subjects)
        before = writers()
        t0 = time.perf_counter()
        loaded = load_file(s["loader"], rel, inbox=inbox, archive_dir=Path(s["archive"]))
        t1 = time.perf_counter()
        _dbt(BUILD, s["sqlalchemy_admin"])
        timed = time.perf_counter() - t0
        built = time.perf_counter() - t1
        prepared = publication.prepare(s["publisher"])  # what the next publication rebuilds and searches
        with psycopg.connect(s["admin"]) as conn:  # what it searched for ID numbers and validated
            searched, validated = conn.execute("SELECT rows_searched, rows_validated FROM ops.publication_searches"
                                               " WHERE table_name = 'grades'").fetchone()  # fmt: skip
    finally:
        (inbox / rel).unlink(missing_ok=True)
        with psycopg.connect(s["admin"]) as conn:
            conn.execute("DELETE FROM ops.period_closures WHERE evaluation_period = %s", (closed,))
    after = writers()
    return {"rows": len(subjects), "timed": timed, "closed_period": closed,
            "closing_build_seconds": closing, "build_seconds": built, "batch_status": loaded.status,
            "closed_period_kept_by": sum(after[m] == before[m] for m in models), "of_models": len(models),
            "prepare_seconds": prepared.seconds, "grades_searched": searched,
            "grades_validated": validated, "grades": prepared.rows["grades"]}


def main(argv: list[str] | None = None) -> None:
    stage = (argv or sys.argv[1:])[0]
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    settings = json.loads(sys.stdin.readline())
    t0 = time.perf_counter()
    out = globals()[stage](settings)
    seconds = time.perf_counter() - t0
    own, children = _peak_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": own, "children_peak_mib": children, **out}))


if __name__ == "__main__":
    main()

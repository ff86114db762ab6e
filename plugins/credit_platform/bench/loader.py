"""``make bench``: how fast the loader is, against the limit and against the obvious alternative.

On one generated file of penalty rows (national CF_ headers, UTF-8, about 1% rows with a bad
credit code so validation has work to do), in one run on the same server:

- raw COPY: the file's bytes streamed into ``COPY ... FROM STDIN (FORMAT csv)`` into a typed table,
  no validation (the limit);
- our load: ``credit_platform.ingest.loader.load_file``, everything included (hash, archive,
  landing, validation, raw and rejected rows, the batch record; not the raw quality gate, the
  Great Expectations stage that follows it);
- pandas: ``read_csv`` then ``DataFrame.to_sql`` in chunks of 10,000 (what a team would otherwise write).

Each measurement runs in its own process, which also reports its peak memory (``ru_maxrss``), and
starts from a checkpoint, so that none pays for the WAL an earlier one wrote. Raw COPY and our
load run in three rounds, each on a fresh database, and the best of each is compared (every
round's own ratio is printed too): single runs on a shared 2-core machine vary by 10-20%.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

from credit_platform import uscc
from credit_platform.demo.generate import PENALTY_CODES  # the national CF_ spellings of sources.yml
from credit_platform.settings import paths
from credit_platform.warehouse import access, migrate
from credit_platform.warehouse.urls import libpq_url, render, url_for

FACTS = "经查，当事人经营超过保质期的食品"
BASIS = "《中华人民共和国食品安全法》第一百二十四条"
AUTHORITY = "怀仁市市场监督管理局"
AUTHORITY_USCC = "11140681110600007Y"
TYPED_TABLE = """
CREATE TABLE bench_raw_copy (
    subject_name text, subject_category text, uscc text, legal_rep_name text, legal_rep_id_type text,
    legal_rep_id_number text, decision_number text, violation_type text, facts text, legal_basis text,
    penalty_category text, content text, fine_amount numeric(14, 4), confiscated_amount numeric(14, 4),
    licence_affected text, decision_date date, valid_until date, publication_end_date date, authority_name text,
    authority_uscc text, data_source text, data_source_uscc text, remarks text)
"""


def make_file(path: Path, rows: int, seed: int = 1) -> Path:
    if path.exists():
        return path
    rng = random.Random(seed)
    subjects = []
    for i in range(20000):
        org = f"{rng.choice('MPQ')}A{i:06d}"[:8]
        subjects.append((f"怀仁市测试商贸有限公司{i}", uscc.make("91", rng.choice(["140624", "140681"]), org)))
    categories = ["警告", "罚款", "罚款", "没收违法所得", "责令停产停业"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(PENALTY_CODES)
        for n in range(rows):
            name, code = subjects[n % len(subjects)]
            if n % 100 == 37:  # about 1%: a wrong check character
                code = code[:17] + ("0" if code[17] != "0" else "1")
            y, m, d = 2024 + n % 2, 1 + n % 12, 1 + n % 28
            sep = "-/"[n % 2]
            later = f"{y + 1}-{m:02d}-{d:02d}"
            w.writerow([name, "法人及非法人组织", code, "张三", "身份证", "140681199001011234",
                        f"怀市监罚〔{y}〕{n}号", "违反食品安全法", FACTS, BASIS, categories[n % 5],
                        "罚款人民币五千元", f"{(n % 500) / 100:.4f}", "0", "", f"{y}{sep}{m}{sep}{d}", later, later,
                        AUTHORITY, AUTHORITY_USCC, AUTHORITY, AUTHORITY_USCC, ""])  # fmt: skip
    tmp.replace(path)
    return path


_RUNNER = r"""
import json, resource, sys, time
method, url, path = sys.argv[1], sys.stdin.readline().strip(), sys.argv[3]
t0 = time.perf_counter()
if method == "copy":
    import psycopg
    with psycopg.connect(url) as conn:
        stmt = "COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER)"
        with conn.cursor() as cur, cur.copy(stmt) as cp, open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                cp.write(chunk)
    rows = None
elif method == "ours":
    from pathlib import Path
    from credit_platform.ingest.loader import load_file
    inbox = Path(sys.argv[4])
    r = load_file(url, Path(path).relative_to(inbox).as_posix(), inbox=inbox, archive_dir=Path(sys.argv[5]),
                  gate=False)
    rows = {"in": r.rows_in, "loaded": r.rows_loaded, "rejected": r.rows_rejected}
elif method == "pandas":
    import pandas as pd
    from sqlalchemy import create_engine
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    df = pd.read_csv(path, dtype=str)
    df.to_sql("bench_pandas", engine, if_exists="replace", index=False, chunksize=10000)
    rows = len(df)
print(json.dumps({"seconds": time.perf_counter() - t0, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rows": rows}))
"""


def _measure(method: str, url: str, path: Path, *extra: str, admin: str) -> dict:
    import psycopg

    # Each measurement starts from a checkpoint, so none pays for the WAL the one before it wrote.
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    # The URL (with its password) goes on standard input: a command line is visible to every user.
    res = subprocess.run([sys.executable, "-c", _RUNNER, method, "-", str(path), *extra],
                         input=url + "\n", capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"bench {method} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fresh_database(server_url: str, db: str):
    import psycopg
    from sqlalchemy.engine import make_url

    access.drop_database(server_url, db)
    access.create_database(server_url, db)
    admin = render(make_url(server_url).set(database=db))
    migrate.migrate(admin)
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute(TYPED_TABLE)
    return libpq_url(admin), libpq_url(url_for("loader", admin))


def run(server_url: str, rows: int = 1_000_000, small: int = 100_000, with_pandas: bool = True,
        rounds: int = 3) -> str:  # fmt: skip
    base = paths().local / "bench"
    inbox = base / "inbox"
    big = make_file(inbox / "departments" / "scjgj" / f"penalties_bench_{rows}.csv", rows)
    little = make_file(inbox / "departments" / "scjgj" / f"penalties_bench_{small}.csv", small)
    archive = str(base / "archive")
    db = "credit_bench"
    copies, ours_runs = [], []
    try:
        # Each round on a fresh database: raw COPY, then our load of the same file.
        for _ in range(rounds):
            su, loader = _fresh_database(server_url, db)
            copies.append(_measure("copy", su, big, admin=su))
            ours_runs.append(_measure("ours", loader, big, str(inbox), archive, admin=su))
        su, loader = _fresh_database(server_url, db)
        ours_small = _measure("ours", loader, little, str(inbox), archive, admin=su)
        pandas = _measure("pandas", su, big, admin=su) if with_pandas else None
    finally:
        access.drop_database(server_url, db)

    copy = min(copies, key=lambda r: r["seconds"])
    ours = min(ours_runs, key=lambda r: r["seconds"])
    results = [("raw COPY into a typed table (the limit)", copy), ("credit-platform load (ours)", ours)]
    if pandas is not None:
        results.append(("pandas read_csv + DataFrame.to_sql", pandas))
    size_mb = big.stat().st_size / 1e6
    lines = [f"Loading {rows:,} penalty rows ({size_mb:.0f} MB CSV, 23 columns); COPY and ours best of {rounds}"
             f" rounds, each round on a fresh database:",
             f"  {'method':42} {'seconds':>8} {'rows/s':>10} {'of COPY':>8} {'peak MiB':>9}"]  # fmt: skip
    for label, r in results:
        rate = rows / r["seconds"]
        lines.append(f"  {label:42} {r['seconds']:8.1f} {rate:10,.0f} {rate / (rows / copy['seconds']):8.0%}"
                     f" {r['maxrss_kib'] / 1024:9.0f}")  # fmt: skip
    lines.append(f"  our load kept {ours['rows']['loaded']:,} rows and rejected {ours['rows']['rejected']:,}"
                 f" (rows in {ours['rows']['in']:,})")  # fmt: skip
    per_round = ", ".join(f"{c['seconds'] / o['seconds']:.0%}" for c, o in zip(copies, ours_runs, strict=True))
    lines.append(f"  each round, ours as a share of that round's COPY: {per_round}")
    ratio = ours["maxrss_kib"] / ours_small["maxrss_kib"]
    lines.append(f"Peak memory of our load: {small:,} rows {ours_small['maxrss_kib'] / 1024:.0f} MiB, "
                 f"{rows:,} rows {ours['maxrss_kib'] / 1024:.0f} MiB (x{ratio:.2f}; target under x1.5)")  # fmt: skip
    target = copy["seconds"] / ours["seconds"]
    lines.append(f"Our load runs at {target:.0%} of raw COPY (target: at least 50%).")
    return "\n".join(lines)


def draw(subjects: int = 1_000_000, inspectors: int = 40, seed: int = 1) -> str:
    """The double-random draw of one plan from ``subjects`` graded subjects (shares of the classes
    as in a city: A 20%, B 50%, C 20%, D 10%; 1% must-inspect; a tenth already inspected once this
    year), with the default policy of seed ``inspection_ratios``, then the population hashes the plan
    records and two inspectors for every drawn subject from a roster of ``inspectors``. Pure Python,
    as the platform draws."""
    import time

    from credit_platform.inspection import draw as I  # noqa: N812

    rng = random.Random(seed)
    classes = rng.choices(I.CLASSES, weights=[20, 50, 20, 10], k=subjects)
    population = {f"91140681MA{n:07d}{rng.choice('0123456789ABCDEFGHJKLMNPQRTUWXY')}": c
                  for n, c in enumerate(classes)}  # fmt: skip
    keys = list(population)
    overrides = {u: "serious_dishonesty" for u in rng.sample(keys, subjects // 100)}
    seen = dict.fromkeys(rng.sample(keys, subjects // 10), 1)
    with open(paths().dbt_project / "seeds" / "inspection_ratios.csv", encoding="utf-8", newline="") as fh:
        policy = {r["grade_class"]: I.ClassPolicy(float(r["sampling_ratio"]), int(r["min_count"]),
                                                  int(r["max_per_year"]))
                  for r in csv.DictReader(fh) if r["department_code"] == "*"}  # the defaults  # fmt: skip
    roster = {f"E{i:03d}": set(rng.sample(keys, 50)) for i in range(inspectors)}
    t0 = time.perf_counter()
    md = I.draw_matter("bench-R1-dept-M01", "bench", population, policy, inspected_this_year=seen,
                       overrides=overrides)  # fmt: skip
    t1 = time.perf_counter()
    hashes = {c: I.population_hash(md.eligible[c]) for c in I.CLASSES}
    t2 = time.perf_counter()
    assigned = I.assign_inspectors(I.seed_of("bench-R1-dept", "bench"), md.subjects(), roster)
    t3 = time.perf_counter()
    again = I.draw_sizes("bench-R1-dept-M01", "bench", md.eligible, md.sizes,
                         {c: list(f) for c, f in md.forced.items()})  # fmt: skip
    t4 = time.perf_counter()
    assert again == md.drawn and len(hashes) == 4
    by_class = ", ".join(f"{c} {len(md.population[c]):,} -> {len(md.drawn[c]):,}" for c in I.CLASSES)
    return "\n".join([
        f"Drawing one plan from {subjects:,} graded subjects ({by_class}; {sum(md.capped.values()):,} at their"
        f" yearly cap, {len(overrides):,} must-inspect):",
        f"  draw (sizes, caps, overrides, sample)  {t1 - t0:6.2f} s",
        f"  population hashes (SHA-256 per class)  {t2 - t1:6.2f} s",
        f"  inspectors for {len(assigned):,} subjects ({inspectors} on the roster)  {t3 - t2:6.2f} s",
        f"  recomputing the draw (verify-draw)     {t4 - t3:6.2f} s",
    ])  # fmt: skip

"""Make the warehouse dump that `tests/integration/test_upgrade.py` upgrades: a small city built,
graded, closed and published by an earlier release's own code, dumped with `pg_dump`.

    .venv/bin/python tests/data/upgrade/make_release_dump.py REF [--subjects 300]

REF is the release's commit (or tag). The release's code is checked out into a temporary git worktree
and run with this checkout's virtual environment (its `plugins/` first on the path, `CREDIT_HOME` at
the worktree, so its migrations, dbt project and command line are the release's), against a database
of its own on this checkout's warehouse server. What it leaves is written here: `warehouse.dump`
(`pg_dump --format=custom`) and `release.json` (the commit, its migrations with their checksums, and
what the city holds). Run it again for each new release: the test then upgrades from that one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from credit_platform.warehouse import access
from credit_platform.warehouse.embedded import bin_dir
from credit_platform.warehouse.urls import admin_url, libpq_url, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SEED = 20251
PERIOD = "2025-H1"  # closed by the release, so that the dump holds a closed period's history


def _run(cmd: list[str], env: dict, cwd: Path) -> str:
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd[3:])[:200]} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref", help="the release's commit or tag")
    ap.add_argument("--subjects", type=int, default=300)
    args = ap.parse_args()

    commit = subprocess.run(["git", "rev-parse", f"{args.ref}^{{commit}}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    server = admin_url()
    name = f"credit_release_{uuid.uuid4().hex[:8]}"
    url = render(make_url(server).set(database=name))
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        tree, work = Path(tmp) / "tree", Path(tmp) / "work"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        access.create_database(server, name)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree / "plugins"), "CREDIT_HOME": str(tree),
                   "CREDIT_LOCAL_DIR": str(ROOT / ".local"), "WAREHOUSE_URL": url,
                   "CREDIT_INBOX": str(work / "inbox"), "CREDIT_ARCHIVE": str(work / "archive"),
                   "CREDIT_OUTBOX": str(work / "outbox"), "DBT_TARGET_PATH": str(work / "dbt-target")}  # fmt: skip
            cli = [sys.executable, "-c", "import sys; from credit_platform.cli import main; sys.exit(main())"]
            validate = ("from credit_platform.quality.checkpoints import run_checkpoint;"
                        "from credit_platform.quality.drift import check_drift;"
                        "from credit_platform.warehouse.urls import admin_url, url_for;"
                        "u = url_for('publisher', admin_url()); run_checkpoint(u, 'marts'); check_drift(u)")
            steps = [
                ["warehouse", "migrate"],
                ["generate", "--seed", str(SEED), "--subjects", str(args.subjects)],
                ["load"],
                ["dbt", "build", "--quiet", "--exclude-resource-type", "unit_test"],
                ["close-period", PERIOD, "--by", "数据组", "--reason", "upgrade test: a closed period"],
                ["dbt", "build", "--quiet", "--exclude-resource-type", "unit_test"],
                None,  # the grades validated as grade_industries validates them, which publication requires
                ["release", "2025-H2", "--reason", "a small city drifts", "--by", "数据组"],
                ["publish", "--as-of", "2026-01-15"],
            ]
            for step in steps:
                print(f"release {commit[:8]}: {' '.join(step) if step else 'the marts checkpoint'}", flush=True)
                _run(cli + step if step else [sys.executable, "-c", validate], env, tree)
            with psycopg.connect(libpq_url(url)) as conn:
                migrations = conn.execute("SELECT version, name, checksum FROM ops.schema_migrations"
                                          " ORDER BY version").fetchall()  # fmt: skip
                grades = conn.execute("SELECT count(*) FROM marts.fct_industry_credit_grades").fetchone()[0]
                # pg_dump leaves out the database's own privileges (who may connect): kept beside it
                acl = conn.execute(
                    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type"
                    " FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()"
                    " AND a.grantee <> d.datdba ORDER BY 1, 2").fetchall()  # fmt: skip
            out = HERE / "warehouse.dump"
            subprocess.run([str(bin_dir() / "pg_dump"), "--format=custom", "--compress=9", "--file", str(out),
                            libpq_url(url)], check=True)  # fmt: skip
            (HERE / "release.json").write_text(json.dumps({
                "commit": commit, "subjects": args.subjects, "seed": SEED, "closed_period": PERIOD,
                "grades": grades, "database_privileges": [list(r) for r in acl],
                "migrations": [{"version": v, "name": n, "checksum": c} for v, n, c in migrations],
            }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")  # fmt: skip
            print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size:,} bytes): {len(migrations)} migrations, "
                  f"{grades:,} grades")  # fmt: skip
        finally:
            access.drop_database(server, name)
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

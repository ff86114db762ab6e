"""What a proposed indicator catalogue would do to the grades, before anyone adopts it.

``credit-platform what-if CATALOGUE.csv`` grades the warehouse's current data with the proposed
catalogue in scratch schemas and compares the result with the grades in force:

1. The file must have exactly the columns of ``dbt_project/seeds/indicator_catalogue.csv`` (UTF-8,
   or GB18030 as Excel saves it on a Chinese system); nothing is touched when it does not.
2. The real grades must be built (``marts.fct_industry_credit_grades``): they are the "before".
3. The dbt project is copied into the work folder (``$CREDIT_LOCAL_DIR/whatif/run/``, replaced by
   the next run) with the proposed catalogue as its seed, and ``dbt build --select
   indicator_catalogue+ --exclude resource_type:snapshot+ --resource-type seed model test`` runs there with
   ``CREDIT_DBT_SCHEMA_PREFIX=whatif_``: the seed goes to ``whatif_staging``, the models to
   ``whatif_intermediate`` and ``whatif_marts``. Every node it does not build is deferred to the real
   relations (``--defer --state --favor-state``) through a manifest parsed from the same copy without
   the prefix, so it names this very database and project. The seed's data tests run first: a
   catalogue whose weights do not sum to 100 fails there and nothing is graded. The test
   ``rules_unchanged_since_closing`` stays out: a proposal may edit the rules of a version a closed
   period was graded under, which the real grading refuses (adopt it as a new rule version).
4. The class distribution per industry, before and after, and every subject whose class changes
   are read for one evaluation period (the latest by default); the changed subjects are also
   written to a CSV.

The real schemas are never written: the transformer role builds only in the scratch schemas,
which the administrator creates (the transformer may not create schemas) and grants for the run.
They are dropped at the end unless ``keep`` is asked for; every run starts by dropping what an
earlier one kept. Kept, ``whatif_marts`` is readable by ``credit_analyst`` like ``marts``. One
what-if at a time per database (an advisory lock: they share the scratch schemas) and per work
folder (a file lock).
"""

from __future__ import annotations

import csv
import fcntl
import json
import logging
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.settings import paths
from credit_platform.warehouse import grants
from credit_platform.warehouse.roles import ROLES
from credit_platform.warehouse.urls import libpq_url, url_for

log = logging.getLogger(__name__)

SCHEMA_PREFIX = "whatif_"
#: The dbt layers (the schemas the transformer may create in) and their scratch twins.
LAYERS = tuple(s for s, p in grants.SCHEMA_PRIVILEGES["transformer"].items() if "CREATE" in p)
SCRATCH_SCHEMAS = tuple(SCHEMA_PREFIX + s for s in LAYERS)
SELECTION = "indicator_catalogue+"
#: Snapshots record what the real grading produced, so they and what reads them stay out of a what-if.
EXCLUSION = "resource_type:snapshot+"
#: The test that stops the real grading when a closed period's rules were edited in place: a proposal
#: edits the rules in force, which a closed period often shares, and is graded in scratch schemas only
#: (adopted, it becomes a new rule version: docs/runbooks/change-indicator-weights.md).
CLOSED_RULES_CHECK = "test_name:rules_unchanged_since_closing"
GRADES = "fct_industry_credit_grades"
_LOCK_KEY = 72_215_002  # pg_advisory_lock key reserved for what-if runs (migrations use 72_215_001)



def changed_columns() -> list[tuple[str, str]]:
    """The CSV of changed subjects: (field, exported header), from publication.yml's ``exports``."""
    from credit_platform.publish.config import load

    return list(load().export_headers("whatif_changes").items())


class WhatIfError(RuntimeError):
    pass


@dataclass
class IndustryShift:
    industry_code: str
    industry_name: str | None
    before: Counter = field(default_factory=Counter)  # grade class -> subjects
    after: Counter = field(default_factory=Counter)
    class_changed: int = 0
    score_changed: int = 0


@dataclass
class Outcome:
    catalogue: Path
    period: str
    industries: list[IndustryShift]
    changed: list[dict]  # one dict per subject and industry whose class changes, keys of changed_columns()
    csv_path: Path
    kept: bool
    seconds: float
    work_dir: Path


def work_folder() -> Path:
    """Where a what-if keeps its copy of the dbt project, dbt's logs and the default CSV."""
    return paths().local / "whatif"


# --- the proposed catalogue -------------------------------------------------------------------


def expected_columns() -> list[str]:
    """The columns of the catalogue seed in force, in its order."""
    with (paths().dbt_project / "seeds" / "indicator_catalogue.csv").open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def read_catalogue(path: Path) -> list[dict[str, str]]:
    """The rows of a proposed catalogue, after checking its header against the seed's."""
    if not path.is_file():
        raise WhatIfError(f"no such file: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise WhatIfError(f"{path}: not UTF-8 or GB18030 text; save it as CSV UTF-8") from None
    rows = list(csv.reader(text.splitlines()))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise WhatIfError(f"{path}: the file is empty")
    header = [c.strip() for c in rows[0]]
    want = expected_columns()
    missing = [c for c in want if c not in header]
    unknown = [c for c in header if c not in want]
    doubled = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or doubled:
        parts = []
        if missing:
            parts.append("missing columns 缺少列: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns 多余列: " + ", ".join(repr(c) for c in unknown))
        if doubled:
            parts.append("repeated columns 重复列: " + ", ".join(doubled))
        raise WhatIfError(
            f"{path}: the header is not that of the indicator catalogue 表头与指标目录不符 ("
            + "; ".join(parts)
            + f"). Expected: {','.join(want)}"
        )
    out = []
    for n, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise WhatIfError(f"{path}, line {n}: {len(cells)} fields where the header has {len(header)}")
        out.append(dict(zip(header, cells, strict=True)))
    if not out:
        raise WhatIfError(f"{path}: the catalogue has a header but no indicators")
    return out


def _write_seed(rows: list[dict[str, str]], target: Path) -> None:
    columns = expected_columns()
    with target.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows({c: r[c] for c in columns} for r in rows)


# --- the warehouse ----------------------------------------------------------------------------


def _connect(url: str, **kw) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), connect_timeout=15, **kw)


def _exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.{name}",)).fetchone()[0]


def _real_periods(conn: psycopg.Connection) -> list[str]:
    """Evaluation periods graded in the real marts, latest first; refuses when there are none."""
    if not _exists(conn, "marts", GRADES):
        raise WhatIfError(f"marts.{GRADES} does not exist: run the grading first "
                          "(credit-platform dbt build, or the grade_industries DAG)")  # fmt: skip
    periods = [p for (p,) in conn.execute(sql.SQL(
        "SELECT evaluation_period FROM marts.{} GROUP BY 1 ORDER BY max(period_end_date) DESC, 1 DESC"
    ).format(sql.Identifier(GRADES)))]  # fmt: skip
    if not periods:
        raise WhatIfError(f"marts.{GRADES} is empty: run the grading first "
                          "(credit-platform dbt build, or the grade_industries DAG)")  # fmt: skip
    return periods


def drop_scratch_schemas(conn: psycopg.Connection) -> None:
    for s in SCRATCH_SCHEMAS:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))


def _create_scratch_schemas(conn: psycopg.Connection) -> None:
    """The scratch twins of the dbt layers, owned by the administrator, built in by the transformer."""
    transformer, analyst = ROLES["transformer"].name, ROLES["analyst"].name
    drop_scratch_schemas(conn)
    for layer, s in zip(LAYERS, SCRATCH_SCHEMAS, strict=True):
        ident = sql.Identifier(s)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(ident, sql.Literal(
            f"what-if scratch twin of {layer} (credit-platform what-if); replaced by the next what-if")))  # fmt: skip
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(ident, sql.Identifier(transformer)))
        if layer == "marts":  # analysts read the what-if grades as they read the real ones
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, sql.Identifier(analyst)))
            conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}")
                         .format(sql.Identifier(transformer), ident, sql.Identifier(analyst)))  # fmt: skip


# --- dbt --------------------------------------------------------------------------------------


def _dbt(args: list[str], project: Path, base_url: str, prefix: str) -> subprocess.CompletedProcess:
    return run_dbt([*args, "--no-partial-parse"], base_url=base_url, capture=True, project=project,
                   env={"CREDIT_DBT_SCHEMA_PREFIX": prefix})  # fmt: skip


def _failures(run: Path, base_url: str) -> str:
    """What failed in a dbt build, with up to five failing rows of each failed test."""
    results_file = run / "target" / "run_results.json"
    if not results_file.exists():
        return ""
    results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
    lines = []
    skipped = 0
    for r in results:
        name = re.sub(r"\.[0-9a-f]{10}$", "", r["unique_id"].split(".", 2)[-1])
        if r["status"] == "skipped":
            skipped += 1
        elif r["status"] in ("fail", "error"):
            line = f"  {name}: {r['status']}" + (f", {r['failures']} failing row(s)" if r.get("failures") else "")
            lines.append(line + ("" if r["status"] == "fail" else f": {(r.get('message') or '').strip()[:500]}"))
            code = r.get("compiled_code") if r["unique_id"].startswith("test.") and r["status"] == "fail" else None
            if code:
                lines.extend(f"      {row}" for row in _sample(base_url, code))
    if skipped:
        lines.append(f"  {skipped} node(s) skipped because of the above: nothing was graded")
    return "\n".join(lines)


def _sample(base_url: str, code: str, limit: int = 5) -> list[str]:
    """A few distinct rows a failed test returned, read as the transformer in a read-only transaction."""
    try:
        with _connect(url_for("transformer", base_url)) as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            query = sql.SQL("SELECT DISTINCT * FROM (\n{}\n) AS failing LIMIT {}")
            cur = conn.execute(query.format(sql.SQL(code), sql.Literal(limit)))
            names = [d.name for d in cur.description]
            return [", ".join(f"{k}={v}" for k, v in zip(names, row, strict=True)) for row in cur.fetchall()]
    except psycopg.Error as exc:  # the sample is a courtesy; the failure itself is already reported
        return [f"(could not read the failing rows: {str(exc).strip()})"]


def _prepare_project(run: Path, rows: list[dict[str, str]]) -> Path:
    if run.exists():
        shutil.rmtree(run)
    project = run / "dbt_project"
    shutil.copytree(paths().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    _write_seed(rows, project / "seeds" / "indicator_catalogue.csv")
    return project


def _grade(run: Path, project: Path, base_url: str) -> None:
    """Parse the real manifest, then build the selection into the scratch schemas, deferring the rest."""
    state = run / "state"
    res = _dbt(["parse", "--target-path", str(state), "--log-path", str(run / "logs")], project, base_url, "")
    if res.returncode != 0:
        raise WhatIfError("dbt parse failed on the copy of the project:\n" + (res.stdout + res.stderr)[-3000:])
    res = _dbt(["build", "--select", SELECTION, "--exclude", EXCLUSION, CLOSED_RULES_CHECK,
                "--resource-type", "seed", "model", "test",
                "--defer", "--state", str(state), "--favor-state",
                "--target-path", str(run / "target"), "--log-path", str(run / "logs")],
               project, base_url, SCHEMA_PREFIX)  # fmt: skip
    if res.returncode != 0:
        detail = _failures(run, base_url) or (res.stdout + res.stderr)[-3000:]
        raise WhatIfError(
            "the proposed catalogue could not be graded 拟用指标目录未通过校验，未生成评价结果:\n"
            + detail
            + f"\n(dbt's log: {run / 'logs' / 'dbt.log'})"
        )


# --- the comparison ---------------------------------------------------------------------------


def _compare(conn: psycopg.Connection, period: str) -> tuple[list[IndustryShift], list[dict]]:
    after_schema = SCHEMA_PREFIX + "marts"
    names_ok = _exists(conn, "marts", "dim_subjects")
    industries_ok = _exists(conn, "marts", "dim_industries")
    pair = sql.SQL(
        "(SELECT * FROM marts.{t} WHERE evaluation_period = %(p)s) AS b"
        " FULL JOIN (SELECT * FROM {after}.{t} WHERE evaluation_period = %(p)s) AS a USING (uscc, industry_code)"
    ).format(t=sql.Identifier(GRADES), after=sql.Identifier(after_schema))
    subject_name = sql.SQL("s.subject_name" if names_ok else "NULL::text")
    industry_name = sql.SQL("i.industry_name" if industries_ok else "NULL::text")
    joins = sql.SQL(
        (" LEFT JOIN marts.dim_subjects AS s USING (uscc)" if names_ok else "")
        + (" LEFT JOIN marts.dim_industries AS i USING (industry_code)" if industries_ok else "")
    )
    shifts: dict[str, IndustryShift] = {}
    for code, name, cb, ca, score_moved, n in conn.execute(sql.SQL(
        "SELECT industry_code, {iname}, b.grade_class, a.grade_class, b.score IS DISTINCT FROM a.score, count(*)"
        " FROM {pair}{joins} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1"
    ).format(iname=industry_name, pair=pair, joins=joins), {"p": period}):  # fmt: skip
        s = shifts.setdefault(code, IndustryShift(code, name))
        if cb is not None:
            s.before[cb] += n
        if ca is not None:
            s.after[ca] += n
        s.class_changed += n if cb != ca else 0
        s.score_changed += n if score_moved else 0
    cur = conn.execute(sql.SQL(
        "SELECT uscc, {sname} AS subject_name, industry_code, {iname} AS industry_name,"
        " b.grade_class AS class_before, a.grade_class AS class_after, b.grade AS grade_before,"
        " a.grade AS grade_after, b.score AS score_before, a.score AS score_after"
        " FROM {pair}{joins} WHERE b.grade_class IS DISTINCT FROM a.grade_class ORDER BY industry_code, uscc"
    ).format(sname=subject_name, iname=industry_name, pair=pair, joins=joins), {"p": period})  # fmt: skip
    names = [d.name for d in cur.description]
    changed = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return list(shifts.values()), changed


def write_changed_csv(changed: list[dict], target: Path) -> None:
    """UTF-8 with a byte-order mark (Excel opens it as such), Chinese headers, like the publications."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        columns = changed_columns()
        w.writerow([label for _, label in columns])
        for r in changed:
            w.writerow(["" if r[c] is None else r[c] for c, _ in columns])


# --- the whole run ----------------------------------------------------------------------------


def run(base_url: str, catalogue: Path, *, period: str | None = None, out: Path | None = None,
        keep: bool = False, work_dir: Path | None = None) -> Outcome:  # fmt: skip
    """Grade with ``catalogue`` in the scratch schemas and compare with the real grades (admin URL)."""
    t0 = time.monotonic()
    rows = read_catalogue(catalogue)
    work = work_dir or work_folder()
    run_dir = work / "run"
    work.mkdir(parents=True, exist_ok=True)
    with (work / ".lock").open("w") as lock, _connect(base_url, autocommit=True) as conn:
        try:  # the work folder is shared by what-ifs on any database; released when the file closes
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WhatIfError(f"another what-if is using {work}; try again when it has finished") from None
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()[0]:
            raise WhatIfError("another what-if is running on this warehouse; try again when it has finished")
        try:  # the lock is the session's: held until unlocked or disconnected
            periods = _real_periods(conn)
            if period is None:
                period = periods[0]
            elif period not in periods:
                raise WhatIfError(f"period {period!r} is not graded in marts.{GRADES}; graded: {', '.join(periods)}")
            project = _prepare_project(run_dir, rows)
            _create_scratch_schemas(conn)
            try:
                log.info("grading the proposed catalogue into %s ...", ", ".join(SCRATCH_SCHEMAS))
                _grade(run_dir, project, base_url)
                industries, changed = _compare(conn, period)
            finally:
                if not keep:
                    drop_scratch_schemas(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    csv_path = out or work / f"changed_subjects_{period}.csv"
    write_changed_csv(changed, csv_path)
    return Outcome(catalogue, period, industries, changed, csv_path, keep, time.monotonic() - t0, run_dir)


def _arrow(before, after) -> str:
    before, after = ("-" if v is None else v for v in (before, after))
    return str(before) if before == after else f"{before}→{after}"


def render_text(o: Outcome, *, limit: int = 50) -> str:
    classes = sorted({c for s in o.industries for c in (*s.before, *s.after)})
    lines = [
        f"假设评价 What-if: {o.catalogue} against the grades in force, period 评价周期 {o.period}",
        "",
        "各行业等级类别分布 Subjects per grade class, before→after:",
        f"  {'industry':24} " + " ".join(f"{c:>11}" for c in classes)
        + f" {'class changed':>14} {'score changed':>14}  name 行业",
    ]  # fmt: skip
    for s in o.industries:
        lines.append(f"  {s.industry_code:24} " + " ".join(f"{_arrow(s.before[c], s.after[c]):>11}" for c in classes)
                     + f" {s.class_changed:>14} {s.score_changed:>14}  {s.industry_name or ''}")  # fmt: skip
    lines.append("")
    lines.append(f"等级类别变化的主体 Subjects whose class changes: {len(o.changed)}")
    if o.changed:
        lines.append(f"  {'uscc':18}  {'industry':22} {'class':>6} {'score':>15}  name 名称")
        for r in o.changed[:limit]:
            lines.append(f"  {r['uscc']:18}  {r['industry_code']:22} "
                         f"{_arrow(r['class_before'], r['class_after']):>6} "
                         f"{_arrow(r['score_before'], r['score_after']):>15}  {r['subject_name'] or ''}")  # fmt: skip
        if len(o.changed) > limit:
            lines.append(f"  …… 另有 {len(o.changed) - limit} 个 / {len(o.changed) - limit} more, all in the CSV")
    lines.append(f"CSV: {o.csv_path}")
    if o.kept:
        lines.append(f"Kept for querying: {', '.join(SCRATCH_SCHEMAS)} (e.g. TABLE whatif_marts.{GRADES}); "
                     "the next what-if replaces them.")  # fmt: skip
    else:
        lines.append(f"Scratch schemas dropped ({', '.join(SCRATCH_SCHEMAS)}); --keep keeps them for querying.")
    lines.append(f"Done in {o.seconds:.0f} s; dbt project copy and logs: {o.work_dir}")
    return "\n".join(lines)

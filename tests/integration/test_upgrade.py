"""Upgrading without loss: a warehouse the previous release built, graded, closed and published
(`tests/data/upgrade/`, made by `make_release_dump.py` from the release's own code) is restored, the
current migrations are applied, and every table's rows are kept; then the current dbt project builds
again, and every mart the release had comes out identical, row for row, on the columns both have."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.settings import paths
from credit_platform.warehouse import migrate
from credit_platform.warehouse.embedded import psql_path
from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[1] / "data" / "upgrade"
RELEASE = json.loads((DATA / "release.json").read_text(encoding="utf-8"))
SCHEMAS = ["raw", "ops", "history", "staging", "intermediate", "marts", "publish"]
KEPT = ["raw", "ops", "history"]  # what no build may change: the data as delivered, the records of runs


def _restore(url: str) -> None:
    """The dump into an empty database, as the administrator, owners and privileges included. pg_restore
    writes SQL that psql runs whole, stopping at the first error; a setting newer servers know
    (transaction_timeout, in dumps by pg_dump 17 and later) is left out for an older server."""
    pg_restore = Path(psql_path()).with_name("pg_restore")
    script = subprocess.run([str(pg_restore), "--file=-", str(DATA / "warehouse.dump")], capture_output=True,
                            check=True).stdout  # fmt: skip
    script = b"\n".join(line for line in script.splitlines() if not line.startswith(b"SET transaction_timeout"))
    res = subprocess.run([psql_path(), "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-d", libpq_url(url)],
                         input=script, capture_output=True)  # fmt: skip
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-3000:]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]
        for grantee, privilege in RELEASE["database_privileges"]:
            conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege), sql.Identifier(db),
                sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)))  # fmt: skip


def _tables(conn, schemas: list[str]) -> dict[str, list[str]]:
    """Each base table of the schemas with its columns, in order."""
    found: dict[str, list[str]] = {}
    for schema, table, column in conn.execute(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c"
        "  JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE t.table_type = 'BASE TABLE' AND c.table_schema = ANY(%s)"
        " ORDER BY 1, 2, c.ordinal_position", (schemas,)):  # fmt: skip
        found.setdefault(f"{schema}.{table}", []).append(column)
    return found


def _row(columns: list[str]) -> sql.Composable:
    """A row's text on these columns: what "the same row" means across releases (a type may change)."""
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))


def _utc(url: str) -> psycopg.Connection:
    """A session that writes times in UTC, whatever the database's clock: the rows' text before and
    after must not differ only because a migration set the database's time zone."""
    return psycopg.connect(libpq_url(url), options="-c TimeZone=UTC")


def _keep_copy(url: str, tables: dict[str, list[str]]) -> None:
    """Every table's rows as they are now, as text, in schema ``upgrade_before`` (one table each)."""
    with _utc(url) as conn:
        conn.execute("CREATE SCHEMA upgrade_before")
        for t, cols in tables.items():
            conn.execute(sql.SQL("CREATE TABLE {} AS SELECT {} AS r FROM {}").format(
                sql.Identifier("upgrade_before", t), _row(cols), sql.Identifier(*t.split("."))))  # fmt: skip


def _compare(url: str, tables: dict[str, list[str]]) -> dict[str, tuple[int, int, int]]:
    """Each table's (rows before, rows before that are no longer there, rows there now that were not),
    counted as multisets on the table's columns before; a table gone counts every row as lost."""
    out = {}
    with _utc(url) as conn:
        present = _tables(conn, SCHEMAS)
        for t, cols in tables.items():
            kept = sql.Identifier("upgrade_before", t)
            n = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(kept)).fetchone()[0]
            if t not in present or not set(cols) <= set(present[t]):
                out[t] = (n, n, 0)
                continue
            now = sql.SQL("SELECT {} FROM {}").format(_row(cols), sql.Identifier(*t.split(".")))
            lost, added = conn.execute(sql.SQL(
                "SELECT (SELECT count(*) FROM (SELECT r FROM {k} EXCEPT ALL {now}) a),"
                "       (SELECT count(*) FROM ({now} EXCEPT ALL SELECT r FROM {k}) b)").format(
                    k=kept, now=now)).fetchone()  # fmt: skip
            out[t] = (n, lost, added)
    return out


def test_a_warehouse_of_the_previous_release_upgrades_without_loss(scratch_database, tmp_path):
    url = scratch_database
    _restore(url)
    with psycopg.connect(libpq_url(url)) as conn:
        recorded = conn.execute("SELECT version, checksum FROM ops.schema_migrations ORDER BY 1").fetchall()
        before_tables = _tables(conn, SCHEMAS)
    released = [(m["version"], m["checksum"]) for m in RELEASE["migrations"]]
    assert recorded == released
    # Applied migrations are never edited: the release's are this checkout's first ones, byte for byte.
    current = migrate.discover()
    assert [(m.version, m.checksum) for m in current[: len(released)]] == released
    _keep_copy(url, before_tables)
    with psycopg.connect(libpq_url(url)) as conn:
        count = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("upgrade_before", t)))
                 .fetchone()[0] for t in before_tables}  # fmt: skip
    assert count["marts.fct_industry_credit_grades"] == RELEASE["grades"] > 0
    assert count["history.grade_versions"] > 0, "the release's dump holds a closed period's history"
    assert count["ops.publications"] > 0 and count["ops.period_closures"] > 0, "it holds publications and closures"

    with psycopg.connect(libpq_url(url)) as conn:  # the day the release built its measures' status on
        built_on = conn.execute("SELECT DISTINCT status_on::text FROM marts.fct_measure_execution").fetchall()
    assert len(built_on) == 1, built_on

    outcome = migrate.migrate(url)
    assert outcome.applied == [m.label for m in current[len(released):]] and outcome.applied
    after_migrations = _compare(url, before_tables)
    lost = {t: c for t, c in after_migrations.items() if c[1]}
    assert not lost, f"rows lost or changed by the migrations (rows, lost, added): {lost}"
    added = {t for t, c in after_migrations.items() if c[2]}
    assert added == {"ops.schema_migrations"}, added  # the migrations' own records, and nothing else

    project = tmp_path / "dbt_project"
    shutil.copytree(paths().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs"))
    # As of the same day: a measure's status is as on the day its model is built (var measures_as_of).
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "--vars",
                   json.dumps({"measures_as_of": built_on[0][0]})], base_url=url, capture=True,
                  project=project)  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]

    after_build = _compare(url, before_tables)
    kept = {t: c for t, c in after_build.items() if t.split(".")[0] in KEPT and c[1]}
    assert not kept, f"raw, ops or history rows lost or changed by the build after the upgrade: {kept}"
    marts = {t: c for t, c in after_build.items() if t.startswith("marts.")}
    assert len(marts) > 10 and sum(c[0] for c in marts.values()) > 0
    differ = {t: c for t, c in marts.items() if c[1] or c[2]}
    assert not differ, f"marts not rebuilt identically (rows, lost, added, on the release's columns): {differ}"

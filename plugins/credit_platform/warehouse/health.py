"""Checks of a running warehouse, used by the ``platform_health`` DAG and ``credit-platform check``."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from credit_platform.warehouse import grants, migrate
from credit_platform.warehouse.urls import libpq_url


class HealthError(RuntimeError):
    pass


def check_migrations(url: str) -> dict:
    """Every migration of this checkout is applied, unchanged (read as any component role)."""
    known = {m.version: m for m in migrate.discover()}
    with psycopg.connect(libpq_url(url), connect_timeout=15) as conn:
        rows = conn.execute("SELECT version, checksum FROM ops.schema_migrations ORDER BY version").fetchall()
    applied = dict(rows)
    missing = [known[v].label for v in known if v not in applied]
    changed = [known[v].label for v in known if v in applied and applied[v] != known[v].checksum]
    if missing or changed:
        raise HealthError(f"warehouse migrations are not current: pending {missing}, changed {changed}")
    return {"applied": len(applied)}


def _privileges(conn: psycopg.Connection) -> tuple[dict, dict]:
    schema_rows = conn.execute(
        "SELECT s, p, has_schema_privilege(s, p) FROM unnest(%s::text[]) s, unnest(ARRAY['USAGE','CREATE']) p",
        (list(grants.SCHEMAS),),
    ).fetchall()
    table_rows = conn.execute(
        "SELECT c.relname, p, has_table_privilege(c.oid, p)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(%s::text[]) p"
        " WHERE n.nspname = 'ops' AND c.relname = ANY(%s::text[])",
        (list(grants.TABLE_PRIVILEGE_NAMES), list(grants.OPS_TABLES)),
    ).fetchall()
    schemas: dict[str, set] = {}
    for s, p, ok in schema_rows:
        if ok:
            schemas.setdefault(s, set()).add(p)
    tables: dict[str, set] = {}
    for t, p, ok in table_rows:
        if ok:
            tables.setdefault(t, set()).add(p)
    return schemas, tables


def check_role_boundaries(url_for_component: Callable[[str], str]) -> dict:
    """Each component role has exactly the schema and ops-table privileges of ``grants``."""
    problems = []
    for component, expected in grants.SCHEMA_PRIVILEGES.items():
        with psycopg.connect(url_for_component(component), connect_timeout=15) as conn:
            schemas, tables = _privileges(conn)
        got = {k: frozenset(v) for k, v in schemas.items()}
        if got != expected:
            problems.append(f"{component}: schema privileges {_fmt(got)}, expected {_fmt(expected)}")
        want_tables = grants.OPS_TABLE_PRIVILEGES[component]
        got_tables = {k: frozenset(v) for k, v in tables.items()}
        if got_tables != want_tables:
            problems.append(f"{component}: ops table privileges {_fmt(got_tables)}, expected {_fmt(want_tables)}")
    if problems:
        raise HealthError("role privileges differ from the access design:\n" + "\n".join(problems))
    return {"components": len(grants.SCHEMA_PRIVILEGES)}


def _fmt(d: dict) -> str:
    return "{" + ", ".join(f"{k}: {'+'.join(sorted(v))}" for k, v in sorted(d.items())) + "}"

"""Versioned SQL migrations for the warehouse.

Files are ``migrations/V<NNNN>__<name>.sql`` in this package, applied in version order, each in
its own transaction, and recorded in ``ops.schema_migrations`` with a checksum. Applying again
changes nothing; a file that was edited after it was applied is an error (write a new migration
instead). An advisory lock keeps two runners from applying at once. After the migrations, the
working-day calendar (``credit_platform.workdays``) is written to ``ops.work_calendar``, so that a
year added to ``holidays.yml`` reaches the warehouse's deadlines with the next ``migrate``.

Plain SQL files rather than Alembic: the warehouse has no ORM models to autogenerate from, and a
database administrator can read and review SQL as it is.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg

from credit_platform import workdays
from credit_platform.warehouse.urls import libpq_url

_NAME_RE = re.compile(r"^V(\d{4})__([a-z0-9_]+)\.sql$")
_LOCK_KEY = 72_215_001  # pg_advisory_lock key reserved for migrations
_SERVER_LOCK_KEY = 72_215_002  # the same, held in the database postgres for the whole server
_CALENDAR_VERSION = 24  # the migration that creates ops.work_calendar, rewritten after every migrate

_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text        NOT NULL DEFAULT current_user,
    duration_ms integer     NOT NULL
);
COMMENT ON TABLE ops.schema_migrations IS '数据库迁移记录: one row per applied migration file';
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def label(self) -> str:
        return f"V{self.version:04d}__{self.name}"


def default_folder() -> Path:
    return Path(str(resources.files("credit_platform.warehouse") / "migrations"))


def discover(folder: Path | None = None) -> list[Migration]:
    folder = folder or default_folder()
    found: dict[int, Migration] = {}
    for p in sorted(folder.glob("*.sql")):
        m = _NAME_RE.match(p.name)
        if not m:
            raise MigrationError(f"{p.name}: migration files are named V<4 digits>__<lower_snake_name>.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version}: {found[version].path.name}, {p.name}")
        found[version] = Migration(version, m.group(2), p)
    return [found[v] for v in sorted(found)]


@dataclass(frozen=True)
class Outcome:
    applied: list[str]
    already: list[str]


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    rows = conn.execute("SELECT version, name, checksum FROM ops.schema_migrations").fetchall()
    return {v: (n, c) for v, n, c in rows}


def migrate(url: str, folder: Path | None = None) -> Outcome:
    """Apply every pending migration to the database at ``url`` (an administrator's URL)."""
    migrations = discover(folder)
    applied: list[str] = []
    already: list[str] = []
    server_lock = _server_lock(url)
    try:
        return _migrate(url, migrations, applied, already)
    finally:
        if server_lock is not None:
            server_lock.close()  # ends the session, and with it the lock


def _server_lock(url: str) -> psycopg.Connection | None:
    """Hold the migrations' lock in the server's maintenance database ``postgres``. Advisory locks
    belong to one database, but roles belong to the whole server: two databases migrated at once
    (the tests' cities, the warehouse and a scratch copy) would both create a missing role. Where
    ``postgres`` cannot be reached (a managed server), only the database's own lock is taken."""
    from sqlalchemy.engine import make_url

    from credit_platform.warehouse.urls import render

    try:
        conn = psycopg.connect(libpq_url(render(make_url(url).set(database="postgres"))), autocommit=True,
                               connect_timeout=15)  # fmt: skip
    except psycopg.Error:
        return None
    conn.execute("SELECT pg_advisory_lock(%s)", (_SERVER_LOCK_KEY,))
    return conn


def _migrate(url: str, migrations: list[Migration], applied: list[str], already: list[str]) -> Outcome:
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=15) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            with conn.transaction():
                conn.execute(_BOOKKEEPING)
            done = _applied(conn)
            unknown = sorted(set(done) - {m.version for m in migrations})
            if unknown:
                raise MigrationError(
                    f"the database has migrations this checkout does not know: {unknown}. Update the checkout."
                )
            for m in migrations:
                if m.version in done:
                    name, checksum = done[m.version]
                    if checksum != m.checksum:
                        raise MigrationError(
                            f"{m.label} was changed after it was applied (recorded checksum {checksum[:12]}, "
                            f"file {m.checksum[:12]}). Put the change in a new migration."
                        )
                    already.append(m.label)
                    continue
                t0 = time.monotonic()
                try:
                    with conn.transaction():
                        conn.execute(m.sql)
                        conn.execute(
                            "INSERT INTO ops.schema_migrations (version, name, checksum, duration_ms)"
                            " VALUES (%s, %s, %s, %s)",
                            (m.version, m.name, m.checksum, int((time.monotonic() - t0) * 1000)),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{m.label} failed and was rolled back: {exc}") from exc
                applied.append(m.label)
            if any(m.version >= _CALENDAR_VERSION for m in migrations):
                with conn.transaction():
                    workdays.write_calendar(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return Outcome(applied, already)


def pending(url: str, folder: Path | None = None) -> list[str]:
    """Labels of migrations not yet applied (all of them when the database has never been migrated)."""
    migrations = discover(folder)
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=15) as conn:
        exists = conn.execute("SELECT to_regclass('ops.schema_migrations') IS NOT NULL").fetchone()[0]
        done = _applied(conn) if exists else {}
    return [m.label for m in migrations if m.version not in done]

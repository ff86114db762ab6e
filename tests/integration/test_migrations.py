"""Migrations against a real PostgreSQL: from scratch, again without change, and refusals."""

from pathlib import Path

import psycopg
import pytest

from credit_platform.warehouse import migrate
from credit_platform.warehouse.grants import SCHEMAS
from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.server_version]

CATALOG_SNAPSHOT = """
SELECT 'schema', n.nspname, coalesce(n.nspacl::text, ''), coalesce(obj_description(n.oid), '')
  FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)
UNION ALL
SELECT 'relation', n.nspname || '.' || c.relname, coalesce(c.relacl::text, ''), c.relkind::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(schemas)s)
UNION ALL
SELECT 'column', table_schema || '.' || table_name || '.' || column_name, data_type, is_nullable
  FROM information_schema.columns WHERE table_schema = ANY(%(schemas)s)
UNION ALL
SELECT 'default_acl', coalesce(n.nspname, '*') || ':' || d.defaclobjtype::text,
       d.defaclacl::text, d.defaclrole::regrole::text
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
UNION ALL
SELECT 'database', current_database(), coalesce(datacl::text, ''), ''
  FROM pg_database WHERE datname = current_database()
ORDER BY 1, 2, 3, 4
"""


def snapshot(url: str) -> list[tuple]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(CATALOG_SNAPSHOT, {"schemas": list(SCHEMAS)}).fetchall()


def test_from_scratch_then_again_without_change(scratch_database):
    assert migrate.pending(scratch_database) == [m.label for m in migrate.discover()]
    first = migrate.migrate(scratch_database)
    assert first.applied == [m.label for m in migrate.discover()] and first.already == []
    before = snapshot(scratch_database)
    assert {row[1] for row in before if row[0] == "schema"} == set(SCHEMAS)

    second = migrate.migrate(scratch_database)
    assert second.applied == [] and second.already == first.applied
    assert snapshot(scratch_database) == before
    assert migrate.pending(scratch_database) == []

    with psycopg.connect(libpq_url(scratch_database)) as conn:
        recorded = conn.execute("SELECT version, checksum FROM ops.schema_migrations ORDER BY 1").fetchall()
    assert recorded == [(m.version, m.checksum) for m in migrate.discover()]


def _copy_migrations(dest: Path) -> Path:
    dest.mkdir()
    for m in migrate.discover():
        (dest / m.path.name).write_bytes(m.path.read_bytes())
    return dest


def test_an_edited_applied_migration_is_refused(scratch_database, tmp_path):
    folder = _copy_migrations(tmp_path / "m")
    migrate.migrate(scratch_database, folder)
    target = sorted(folder.glob("*.sql"))[-1]
    target.write_text(target.read_text() + "\n-- an afterthought\n")
    with pytest.raises(migrate.MigrationError, match="was changed after it was applied"):
        migrate.migrate(scratch_database, folder)


def test_a_failing_migration_is_rolled_back_and_not_recorded(scratch_database, tmp_path):
    folder = _copy_migrations(tmp_path / "m")
    n = len(migrate.discover())
    (folder / f"V{n + 1:04d}__broken.sql").write_text(
        "CREATE TABLE raw.half_done (id int);\nSELECT * FROM raw.table_that_does_not_exist;\n"
    )
    with pytest.raises(migrate.MigrationError, match="broken failed and was rolled back"):
        migrate.migrate(scratch_database, folder)
    with psycopg.connect(libpq_url(scratch_database)) as conn:
        assert conn.execute("SELECT to_regclass('raw.half_done')").fetchone()[0] is None
        assert conn.execute("SELECT max(version) FROM ops.schema_migrations").fetchone()[0] == n
    assert migrate.pending(scratch_database, folder) == [f"V{n + 1:04d}__broken"]


def test_a_database_ahead_of_the_checkout_is_refused(scratch_database, tmp_path):
    folder = _copy_migrations(tmp_path / "m")
    migrate.migrate(scratch_database, folder)
    newest = sorted(folder.glob("*.sql"))[-1]
    newest.unlink()
    with pytest.raises(migrate.MigrationError, match="does not know"):
        migrate.migrate(scratch_database, folder)

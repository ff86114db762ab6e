from pathlib import Path

import pytest

from credit_platform.warehouse import migrate


def test_shipped_migrations_are_numbered_from_one_without_gaps():
    found = migrate.discover()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert all(m.sql.strip() for m in found)


def test_shipped_migrations_are_packaged_with_the_code():
    folder = migrate.default_folder()
    assert folder.name == "migrations" and (folder.parent / "__init__.py").exists()


def test_a_misnamed_file_is_an_error(tmp_path: Path):
    (tmp_path / "V0001__ok.sql").write_text("SELECT 1;")
    (tmp_path / "0002_create_things.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match="0002_create_things.sql"):
        migrate.discover(tmp_path)


def test_two_files_with_one_version_are_an_error(tmp_path: Path):
    (tmp_path / "V0001__one.sql").write_text("SELECT 1;")
    (tmp_path / "V0001__other.sql").write_text("SELECT 2;")
    with pytest.raises(migrate.MigrationError, match="share version 1"):
        migrate.discover(tmp_path)


def test_checksum_follows_the_content(tmp_path: Path):
    f = tmp_path / "V0001__one.sql"
    f.write_text("SELECT 1;")
    (m,) = migrate.discover(tmp_path)
    before = m.checksum
    f.write_text("SELECT 2;")
    assert m.checksum != before

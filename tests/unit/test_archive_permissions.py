"""Archived originals may hold ID numbers: only the archive's owner may read them."""

import os
import stat
from pathlib import Path

import pytest

from credit_platform.ingest.archive import LEDGER, ArchivingTap, append_ledger, archive, sha256_of


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _usual_umask():
    old = os.umask(0o022)  # files would be world-readable by default
    yield
    os.umask(old)


def _fill(folder: Path, source: Path) -> None:
    archive(source, sha256_of(source), folder)
    tap = ArchivingTap(folder)
    tap.feed("统一社会信用代码,法定代表人身份证号\n".encode())
    tap.finish()
    empty = ArchivingTap(folder)
    empty.finish()
    append_ledger(folder, {"batch_id": 1, "source": "province"})


def test_the_archive_folder_is_0700_and_every_file_in_it_0600(tmp_path):
    source = tmp_path / "penalties.csv"
    source.write_text("uscc,id_number\n", encoding="utf-8")
    folder = tmp_path / "data" / "archive"
    _fill(folder, source)
    assert _mode(folder) == 0o700
    files = list(folder.iterdir())
    assert len(files) == 4 and (folder / LEDGER) in files
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_an_archive_made_before_is_closed_at_its_next_write(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    old = folder / ("0" * 64)
    old.write_text("old original\n", encoding="utf-8")
    (folder / LEDGER).write_text('{"batch_id": 0}\n', encoding="utf-8")
    os.chmod(old, 0o644)
    os.chmod(folder / LEDGER, 0o644)
    source = tmp_path / "new.csv"
    source.write_text("uscc\n", encoding="utf-8")
    archive(source, sha256_of(source), folder)
    assert _mode(folder) == 0o700
    assert {f.name: _mode(f) for f in folder.iterdir()} == {f.name: 0o600 for f in folder.iterdir()}

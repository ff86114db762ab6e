"""The archive of original files: each kept unchanged under ``$CREDIT_ARCHIVE/<sha256>``.

A file is hashed and archived from the same bytes the loader reads, so the archive holds exactly
what was loaded. On the fast path (a CSV copied straight into PostgreSQL) this happens while the
bytes stream to the server, in the time the server spends parsing them; otherwise the file is
read once more for it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def archive(path: Path, digest: str, archive_dir: Path) -> Path:
    """Copy the file to the archive under its digest (once; an archived file is never rewritten)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = archive_dir / digest
    if not target.exists():
        tmp = archive_dir / f".{digest}.{uuid.uuid4().hex}.part"
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return target


class ArchivingTap:
    """Fed every byte of a file in order: hashes it and writes it to a part file in the archive."""

    def __init__(self, archive_dir: Path):
        archive_dir.mkdir(parents=True, exist_ok=True)
        self.archive_dir = archive_dir
        self._hash = hashlib.sha256()
        self._part = archive_dir / f".incoming.{uuid.uuid4().hex}.part"
        self._out = None

    def feed(self, chunk: bytes) -> None:
        if self._out is None:
            self._out = open(self._part, "wb")  # noqa: SIM115 - closed by finish() or discard()
        self._hash.update(chunk)
        self._out.write(chunk)

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
        else:
            self._part.touch()

    def finish(self) -> str:
        """The digest; the archived file is in place under it."""
        self._close()
        digest = self._hash.hexdigest()
        target = self.archive_dir / digest
        if target.exists():
            self._part.unlink()
        else:
            os.replace(self._part, target)
        return digest

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        self._part.unlink(missing_ok=True)

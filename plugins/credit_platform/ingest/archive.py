"""The archive of original files: each kept unchanged under ``$CREDIT_ARCHIVE/<sha256>``.

A file is hashed and archived from the same bytes the loader reads, so the archive holds exactly
what was loaded. On the fast path (a CSV copied straight into PostgreSQL) this happens while the
bytes stream to the server, in the time the server spends parsing them; otherwise the file is
read once more for it.

Originals may hold ID numbers: the archive folder is its owner's only (0700) and every file in it,
the ledger too, is created 0600. An archive made before with looser modes is closed the next time
something is written to it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

CHUNK = 1 << 20
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def _private_folder(folder: Path) -> None:
    """Create the archive folder 0700; one found looser (made before) is closed with its files."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o777 == FOLDER_MODE:
        return
    os.chmod(folder, FOLDER_MODE)
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink():
            os.chmod(entry, FILE_MODE)


def _create_private(path: Path, *, append: bool = False):
    """Open a file for writing, created 0600 whatever the umask (an existing one is set to 0600 too)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "ab" if append else "wb")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def archive(path: Path, digest: str, archive_dir: Path) -> Path:
    """Copy the file to the archive under its digest (once; an archived file is never rewritten)."""
    _private_folder(archive_dir)
    target = archive_dir / digest
    if not target.exists():
        tmp = archive_dir / f".{digest}.{uuid.uuid4().hex}.part"
        with open(path, "rb") as src, _create_private(tmp) as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        tmp.replace(target)
    return target


class ArchivingTap:
    """Fed every byte of a file in order: hashes it and writes it to a part file in the archive."""

    def __init__(self, archive_dir: Path):
        _private_folder(archive_dir)
        self.archive_dir = archive_dir
        self._hash = hashlib.sha256()
        self._part = archive_dir / f".incoming.{uuid.uuid4().hex}.part"
        self._out = None

    def feed(self, chunk: bytes) -> None:
        if self._out is None:
            self._out = _create_private(self._part)
        self._hash.update(chunk)
        self._out.write(chunk)

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
        else:
            _create_private(self._part).close()

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


# The ledger: what was loaded from each archived file, one JSON line per loaded batch, appended
# when the batch commits. With the files it makes the archive self-describing: a rebuild
# (``credit_platform.ingest.replay``) lands every batch again under its own id from these two alone.
LEDGER = "ledger.jsonl"
LEDGER_FIELDS = (
    "batch_id", "source", "department_code", "source_file", "file_sha256", "file_size", "file_mtime",
    "started_at", "finished_at", "as_of", "rows_in", "rows_loaded", "rows_rejected", "rows_protected",
    "rows_not_returned", "header_row", "missing_columns", "status", "quarantine_reason", "quarantined_at", "gated_at",
)  # fmt: skip


def append_ledger(archive_dir: Path, entry: dict) -> None:
    """Append one loaded batch to the archive's ledger (one line, written whole, under a lock)."""
    import fcntl
    import json

    _private_folder(archive_dir)
    line = json.dumps({k: entry[k] for k in LEDGER_FIELDS if k in entry}, ensure_ascii=False, default=str) + "\n"
    with _create_private(archive_dir / LEDGER, append=True) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_ledger(archive_dir: Path) -> list[dict]:
    """The ledger's entries in batch order (a later line of a batch updates the fields it carries)."""
    import json

    path = archive_dir / LEDGER
    if not path.exists():
        return []
    entries: dict[int, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {number}: not a JSON ledger entry ({exc})") from exc
            entries.setdefault(int(entry["batch_id"]), {}).update(entry)
    return [entries[k] for k in sorted(entries)]

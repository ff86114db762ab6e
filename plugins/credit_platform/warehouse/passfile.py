"""The embedded warehouse's passwords, kept in a libpq password file (``.local/warehouse.pgpass``).

One line per role, ``127.0.0.1:<port>:*:<role>:<password>``: the format libpq reads, so
``PGPASSFILE=.local/warehouse.pgpass psql -h 127.0.0.1 -p <port> -U <role> credit`` works as it is.
The file is readable and writable by its owner only (0600). Each password is generated once
(``secrets.token_urlsafe``) and never printed or logged by the platform.

The entries are tied to host and port, so a URL naming another server on the same machine (the
``WAREHOUSE_URL`` of a second PostgreSQL) never gets a password from this file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


def _split(line: str) -> list[str]:
    """The fields of one line; ``\\:`` and ``\\\\`` are a literal colon and backslash, as for libpq."""
    fields, cur, escaped = [], [], False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":" and len(fields) < 4:
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return fields


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def read(path: Path) -> list[tuple[str, str, str, str, str]]:
    """The entries (host, port, database, user, password) of the file; none when it is missing."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = _split(line)
        if len(fields) == 5:
            entries.append(tuple(fields))
    return entries


def lookup(path: Path, host: str | None, port: int | None, user: str | None) -> str | None:
    """The password the file holds for this user on this server, found as libpq finds it (the
    first line whose host, port and user match; ``*`` matches any)."""
    if not host or not user:
        return None
    for h, p, _db, u, password in read(path):
        if h in (host, "*") and p in (str(port or 5432), "*") and u in (user, "*"):
            return password
    return None


def passwords(path: Path) -> dict[str, str]:
    """Each user's password, whatever the port of its line."""
    return {u: password for _h, _p, _db, u, password in reversed(read(path))}


def write(path: Path, port: int, by_user: dict[str, str]) -> None:
    """Write the file whole (a new file renamed into place), 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# The embedded warehouse's passwords (libpq password file). Keep it private: mode 0600.\n" + "".join(
        f"{HOST}:{port}:*:{_escape(user)}:{_escape(pw)}\n" for user, pw in by_user.items()
    )
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, path)


@contextmanager
def _locked(path: Path):
    """Serialise writers (two processes starting the server at once must agree on one password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def ensure(path: Path, port: int, users: Iterable[str]) -> dict[str, str]:
    """Every user's password, generating those missing; the file is rewritten only when it changes
    (a new password, another port, or a mode other than 0600)."""
    with _locked(path):
        known = passwords(path)
        wanted = dict(known)
        for user in users:
            wanted.setdefault(user, secrets.token_urlsafe(24))
        current = {(u, pw) for _h, p, _d, u, pw in read(path) if p == str(port)}
        if set(wanted.items()) != current or (path.exists() and path.stat().st_mode & 0o077):
            write(path, port, wanted)
        return wanted


def replace(path: Path, port: int, new: dict[str, str]) -> None:
    """Give some users new passwords, keeping every other line."""
    with _locked(path):
        known = passwords(path)
        known.update(new)
        write(path, port, known)


def forget(path: Path, port: int, user: str) -> None:
    """Drop one user's password (a recipient role that was removed)."""
    with _locked(path):
        known = passwords(path)
        if known.pop(user, None) is not None:
            write(path, port, known)

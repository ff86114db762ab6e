"""The inbox is the boundary: which of its files are loaded, which are reported, and how one is opened.

Only regular files inside ``$CREDIT_INBOX`` are read. A symbolic link anywhere below the inbox (to
a file or a folder), a path with ``..`` or an absolute path elsewhere is refused with a reason in
Chinese and English; the inbox folder itself may be a link (where the operator mounted it). A file
is opened once, folder by folder from the inbox's real path without following links (``openat``
with ``O_NOFOLLOW``), and everything after reads that open file (through ``/proc/self/fd``), so a
name swapped for a link between the check and the read is never followed.

``scan`` walks a folder of the inbox and sorts what it finds: files a source claims (``sources.yml``,
names in any case), files none claims (reported with the names expected there), hidden and
temporary files (Excel's ``~$`` lock files, ``.DS_Store``, ``*.tmp``, ``*.part``; noted quietly)
and refused paths.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from credit_platform.ingest.config import expected_names, source_for

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv", ".txt", ".xlsx", ".json"}
IGNORED_PREFIXES = (".", "~")  # hidden files, Excel's "~$name.xlsx" lock files, editors' backups
IGNORED_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", ".bak")
IGNORED_NAMES = {"thumbs.db", "desktop.ini"}


class RefusedPath(ValueError):
    """A path the loader must not read: a symbolic link, outside the inbox, not a regular file."""


def _symlink(relative: str) -> RefusedPath:
    return RefusedPath(f"{relative}: 收件箱中的符号链接不予读取，请把文件本身放入收件箱 / a symbolic link in the"
                       " inbox is refused; put the file itself into the inbox")  # fmt: skip


def _outside(given: str, inbox: Path) -> RefusedPath:
    return RefusedPath(f"{given}: 路径指向收件箱 {inbox} 之外，不予读取；请把文件放入收件箱后再导入 /"
                       f" the path leads outside the inbox {inbox}; put the file into the inbox and load it"
                       " from there")  # fmt: skip


def _not_regular(relative: str) -> RefusedPath:
    return RefusedPath(f"{relative}: 不是普通文件，不予读取 / not a regular file; only regular files are loaded")


def is_ignored(name: str) -> bool:
    """Hidden and temporary files: left alone, noted in the log only at INFO."""
    low = name.casefold()
    return low.startswith(IGNORED_PREFIXES) or low.endswith(IGNORED_SUFFIXES) or low in IGNORED_NAMES


def relative_in_inbox(inbox: Path, given: str | os.PathLike) -> str:
    """``given`` as an inbox-relative POSIX path, decided on the text alone (nothing is followed).

    A relative path is taken from the inbox; an absolute one must lie under the inbox (as
    configured, or its real path). Any ``..`` is refused, wherever it would lead.
    """
    text = os.fspath(given)
    path = PurePosixPath(text)
    if ".." in path.parts or not text.strip():
        raise _outside(text, inbox)
    if path.is_absolute():
        for root in dict.fromkeys((os.path.abspath(inbox), os.path.realpath(inbox))):
            try:
                path = path.relative_to(root)
                break
            except ValueError:
                continue
        else:
            raise _outside(text, inbox)
    if not path.parts:
        raise _outside(text, inbox)
    return path.as_posix()


class InboxFile:
    """A file of the inbox, open: ``path`` reads this very file (by its handle), under its own name."""

    def __init__(self, relative: str, fd: int, path: Path, workdir: Path | None):
        st = os.fstat(fd)
        self.relative, self.path = relative, path
        self.size, self.mtime_ns = st.st_size, st.st_mtime_ns
        self._finalizer = weakref.finalize(self, _release, fd, workdir)

    def close(self) -> None:
        self._finalizer()


def _release(fd: int, workdir: Path | None) -> None:
    os.close(fd)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def open_in_inbox(inbox: Path, given: str | os.PathLike) -> InboxFile:
    """Open an inbox file for reading, refusing links, ``..``, paths elsewhere and anything not a regular file.

    The folders are opened one by one from the inbox's real path with ``O_NOFOLLOW``, so no link
    on the way is followed, and the file is checked by ``fstat`` of its handle. ``path`` of the
    result is a name for that handle (a link to ``/proc/self/fd/<n>`` in a private folder, keeping
    the file's name, which the readers go by), so every later read gets the same file even if the
    inbox entry is replaced meanwhile. Closed when the result is dropped (or by ``close``).
    """
    relative = relative_in_inbox(inbox, given)
    parts = PurePosixPath(relative).parts
    root = os.path.realpath(inbox)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        try:
            child = os.open(part, flags | (os.O_NONBLOCK if last else os.O_DIRECTORY), dir_fd=fd)
        except OSError as exc:
            if _is_link(part, fd):
                raise _symlink("/".join(parts[: i + 1])) from None
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise FileNotFoundError(f"{relative}: no such file in {inbox}") from None
            raise
        finally:
            os.close(fd)
        fd = child
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _not_regular(relative)
    if not Path(f"/proc/self/fd/{fd}").exists():  # no /proc: the name itself, as checked a moment ago
        return InboxFile(relative, fd, Path(root, relative), None)
    workdir = Path(tempfile.mkdtemp(prefix="credit-inbox-"))
    (workdir / parts[-1]).symlink_to(f"/proc/self/fd/{fd}")
    return InboxFile(relative, fd, workdir / parts[-1], workdir)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def check_in_inbox(inbox: Path, given: str | os.PathLike) -> str:
    """The inbox-relative path of ``given`` when the loader may read it (else ``RefusedPath``)."""
    opened = open_in_inbox(inbox, given)
    opened.close()
    return opened.relative


@dataclass
class Scan:
    """What a folder of the inbox holds, sorted (inbox-relative POSIX paths)."""

    matched: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path -> reason

    def counts(self) -> dict[str, int]:
        return {"files_unmatched": len(self.unmatched), "files_ignored": len(self.ignored),
                "paths_refused": len(self.refused)}  # fmt: skip

    def log(self) -> None:
        """Say what will not be loaded: refused paths as errors, stray files as warnings, temporary ones as info."""
        for reason in self.refused.values():
            log.error("%s", reason)
        for rel in self.unmatched:
            names = ", ".join(expected_names(rel)) or "none: files belong in province/ or departments/<code>/"
            log.warning("%s: 没有数据源认领此文件名，未读取 / no source claims this file name, not loaded;"
                        " names expected here (sources.yml): %s", rel, names)  # fmt: skip
        for rel in self.ignored:
            log.info("%s: 隐藏或临时文件，忽略 / a hidden or temporary file, ignored", rel)


def scan(inbox: Path, *, prefix: str = "") -> Scan:
    """Walk ``inbox/prefix`` without following links, and sort what is there."""
    out = Scan()
    inbox = Path(inbox)
    if prefix:
        try:
            relative_in_inbox(inbox, prefix)
        except RefusedPath as exc:
            out.refused[prefix] = str(exc)
            return out
    base = inbox / prefix if prefix else inbox
    parts = PurePosixPath(prefix).parts
    for i in range(len(parts)):
        if (inbox / Path(*parts[: i + 1])).is_symlink():
            out.refused[prefix] = str(_symlink("/".join(parts[: i + 1])))
            return out
    if not base.is_dir():
        if base.exists() and not base.is_file():
            out.refused[prefix] = str(_not_regular(prefix))
        return out
    _walk(base, inbox, out)
    for bucket in (out.matched, out.unmatched, out.ignored):
        bucket.sort()
    out.refused = dict(sorted(out.refused.items()))
    return out


TOP_FOLDERS = ("province", "departments")


def scan_elsewhere(inbox: Path) -> Scan:
    """What lies outside ``province/`` and ``departments/`` (a file dropped in the inbox's top folder, a
    folder of another name): no source claims any of it, so each DAG reports it beside its own folder."""
    out = Scan()
    inbox = Path(inbox)
    if inbox.is_dir():
        _walk(inbox, inbox, out, skip=TOP_FOLDERS)
    return out


def _walk(folder: Path, inbox: Path, out: Scan, skip: tuple[str, ...] = ()) -> None:
    with os.scandir(folder) as entries:
        for entry in sorted((e for e in entries if e.name not in skip), key=lambda e: e.name):
            rel = Path(entry.path).relative_to(inbox).as_posix()
            if entry.is_symlink():
                out.refused[rel] = str(_symlink(rel))
            elif entry.is_dir(follow_symlinks=False):
                if is_ignored(entry.name):
                    out.ignored.append(rel + "/")
                else:
                    _walk(Path(entry.path), inbox, out)
            elif not entry.is_file(follow_symlinks=False):
                out.refused[rel] = str(_not_regular(rel))
            elif is_ignored(entry.name):
                out.ignored.append(rel)
            elif PurePosixPath(rel).suffix.lower() in SUPPORTED_SUFFIXES and source_for(rel) is not None:
                out.matched.append(rel)
            else:
                out.unmatched.append(rel)

"""The generic loader: one file from the inbox into its raw table, every row loaded or rejected.

For each file: a batch is opened in ``ops.load_batches``; the file's rows land (``stage.py``)
while the original is hashed and archived under ``$CREDIT_ARCHIVE/<sha256>`` from the same bytes
(``archive.py``); the rows are validated in SQL (``validate.py``); accepted rows stay in (or go
to) the source's raw table, natural persons go to ``raw.protected_person_records`` and rejected
rows to ``ops.rejected_rows`` with every reason, all in one transaction. A well-formed CSV lands
straight in the raw table with one COPY, and the few rows that do not stay are moved out after
validation; any other file lands in a temporary table first. rows_in = rows_loaded +
rows_rejected, enforced by a check on the batch. The batch is committed ``landed`` and only the
raw quality gate makes it ``loaded`` (or quarantines it); a batch left ``landed`` (the process
died, or the gate could not run its checks) is gated by the next load. A file already loaded
(same source, department and SHA-256) is recorded as a duplicate and nothing of it is kept. A file
that cannot be read at all fails its batch with the cause and raises ``LoadError`` naming the file.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from credit_platform.ingest import validate
from credit_platform.ingest.archive import ArchivingTap, append_ledger, archive, sha256_of
from credit_platform.ingest.config import Source, departments, rules, source_for
from credit_platform.ingest.inbox import (
    TOP_FOLDERS,
    InboxFile,
    RefusedPath,
    open_in_inbox,
    relative_in_inbox,
    scan,
    scan_elsewhere,
)
from credit_platform.ingest.readers import UnreadableFile
from credit_platform.ingest.stage import RawTarget, stage_file
from credit_platform.settings import paths, today

log = logging.getLogger(__name__)


class LoadError(RuntimeError):
    pass


@dataclass
class LoadResult:
    source: str
    file: str
    sha256: str
    batch_id: int | None
    status: str  # landed (not gated yet, or held), loaded (passed the raw gate), duplicate, quarantined
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rows_protected: int = 0
    rows_not_returned: int = 0  # rows of a returned form not filled in yet (not in rows_in; ops.unreturned_rows)
    quarantine_reason: str | None = None  # with status "quarantined": the file, the failed checks, Data Docs
    gate_error: str | None = None  # with status "landed" after a gate: why its checks could not run

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def discover(inbox: Path | None = None, *, prefix: str = "") -> list[str]:
    """The inbox files the loader must answer for, as inbox-relative POSIX paths, sorted.

    Files some source claims, and refused paths (symbolic links, anything not a regular file):
    those are handed on so that loading them fails, naming the path and the reason. Files no
    source claims are logged with the names expected there (``inbox.scan``).
    """
    found = scan(inbox or paths().inbox, prefix=prefix)
    found.log()
    if prefix in TOP_FOLDERS:  # and what lies beside the source folders, which no run would take
        scan_elsewhere(inbox or paths().inbox).log()
    return sorted([*found.matched, *found.refused])


def _stat(path: Path) -> tuple[int, dt.datetime]:
    st = path.lstat()  # a link put where a loaded file was is not that file
    return st.st_size, dt.datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=dt.UTC)


def pending(url: str, inbox: Path | None = None, *, prefix: str = "") -> list[str]:
    """The discovered files not yet loaded as they are now.

    A file is done when the latest batch of its path loaded it (or found it a duplicate, or
    quarantined it) at the same size and modification time; a changed, new or failed file is
    pending, and so is one whose batch is still ``landed`` (its gate has not decided: ``load_file``
    then gates that batch rather than load the file again). Retrying a task
    therefore loads only what the earlier try did not.
    """
    inbox = inbox or paths().inbox
    found = discover(inbox, prefix=prefix)
    if not found:
        return []
    with psycopg.connect(url) as conn:
        latest = {rel: (status, size, mtime) for rel, status, size, mtime in conn.execute(
            "SELECT DISTINCT ON (source_file) source_file, status, file_size, file_mtime FROM ops.load_batches"
            " WHERE source_file = ANY(%s) ORDER BY source_file, batch_id DESC", (found,))}  # fmt: skip
    out = []
    for rel in found:
        status, size, mtime = latest.get(rel, (None, None, None))
        if status in ("loaded", "duplicate", "quarantined") and (size, mtime) == _stat(inbox / rel):
            continue
        out.append(rel)
    return out


class _Duplicate(Exception):
    def __init__(self, digest: str, batch_id: int):
        super().__init__(digest, batch_id)
        self.digest, self.batch_id = digest, batch_id


def load_file(
    url: str,
    relative: str,
    *,
    inbox: Path | None = None,
    archive_dir: Path | None = None,
    as_of: dt.date | None = None,
    gate: bool = True,
    again: bool = False,
) -> LoadResult:
    """Load one inbox file (path relative to the inbox) as the loader role at ``url``.

    With ``again``, a file whose bytes were quarantined before is loaded as a new batch (after the
    cause was mended: a heading added to ``sources.yml``, a department to the seed); bytes loaded
    before stay a duplicate whatever ``again`` says.

    With ``gate`` (the default) the batch then goes through the raw quality gate
    (``credit_platform.ingest.gate``): a batch failing it comes back with status
    ``quarantined`` and the reason, and feeds no grade; one the gate could not decide raises
    ``GateHeld``. ``load_files`` gates many files at once. When the file's latest batch is still
    ``landed`` (an earlier load stopped before its gate decided) and the file is unchanged, that
    batch is taken up as it is, not loaded again.
    """
    inbox = inbox or paths().inbox
    archive_dir = archive_dir or paths().archive
    relative = _inside(inbox, relative)
    opened = _open(inbox, relative)
    path = opened.path  # this file, whatever happens to its name in the inbox meanwhile
    source = source_for(relative)
    if source is None:
        raise LoadError(f"{relative}: no source in sources.yml claims this path")
    department = source.department_of(relative) if source.department_from_path else None
    if source.department_from_path and not department:
        raise LoadError(f"{relative}: expected under departments/<department_code>/")
    as_of = as_of or today()

    with psycopg.connect(url) as conn:
        # One loader at a time per file path: a second one waits, then finds it loaded.
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"{source.name}|{department}|{relative}",))
        # A batch of this file still 'running' was cut off (we hold the file's lock): say so.
        conn.execute(
            "UPDATE ops.load_batches SET status = 'interrupted', finished_at = now(),"
            " message = 'the load stopped before it finished; nothing of it was kept'"
            " WHERE source = %s AND source_file = %s AND status = 'running'"
            " AND department_code IS NOT DISTINCT FROM %s",
            (source.name, relative, department),
        )
        size, mtime = opened.size, dt.datetime.fromtimestamp(opened.mtime_ns / 1e9, tz=dt.UTC)
        resumed = _landed_batch(conn, source.name, department, relative, (size, mtime))
        if resumed is not None:
            conn.commit()
            return _finish(url, resumed, gate, archive_dir, relative)
        batch_id = conn.execute(
            "INSERT INTO ops.load_batches (source, department_code, source_file, file_size, file_mtime)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING batch_id",
            (source.name, department, relative, size, mtime),
        ).fetchone()[0]
        conn.commit()
        committed = False
        try:
            result = _load_rows(conn, source, path, relative, archive_dir, batch_id, department, as_of,
                                again=again)  # fmt: skip
            conn.commit()
            committed = True
            _record_in_ledger(conn, archive_dir, batch_id, as_of)
        except _Duplicate as dup:
            conn.rollback()
            conn.execute(
                "UPDATE ops.load_batches SET status = 'duplicate', file_sha256 = %s, duplicate_of = %s,"
                " message = %s, finished_at = now() WHERE batch_id = %s",
                (dup.digest, dup.batch_id, f"already loaded as batch {dup.batch_id}", batch_id),
            )
            conn.commit()
            log.info("%s: already loaded as batch %s; recorded as duplicate batch %s", relative, dup.batch_id,
                     batch_id)  # fmt: skip
            if gate:  # the batch it duplicates may not be gated yet (its load stopped before the gate)
                apply_gate(url, [], archive_dir=archive_dir, leftovers=[dup.batch_id])
            return LoadResult(source.name, relative, dup.digest, batch_id, "duplicate")
        except Exception as exc:  # noqa: BLE001 - whatever breaks one file fails its batch, not the run
            message = f"{relative}: {_cause(exc)}"
            if committed:
                message += " (after its rows were committed: they are kept for inspection and feed nothing)"
            if not isinstance(exc, (UnreadableFile, LoadError)):  # not foreseen: keep where it came from
                log.warning("%s: unexpected error while loading; the traceback follows", relative, exc_info=True)
            _fail_batch(url, conn, batch_id, message)
            raise LoadError(message) from exc
    log.info(
        "%s: batch %s, %s rows read, %s loaded (%s protected), %s rejected %s",
        relative, batch_id, result.rows_in, result.rows_loaded, result.rows_protected, result.rows_rejected,
        result.rejected_by_reason,
    )  # fmt: skip
    return _finish(url, result, gate, archive_dir, relative)


class GateHeld(LoadError):
    """The raw quality gate could not run its checks on a batch: it is held, and a retry gates it."""


def _finish(url: str, result: LoadResult, gate: bool, archive_dir: Path, relative: str) -> LoadResult:
    """Gate the batch (and any other batch of this path left ``landed``) when asked to."""
    from credit_platform.ingest.gate import ungated

    if gate:
        apply_gate(url, [result], archive_dir=archive_dir, leftovers=ungated(url, relative))
        if result.status == "landed":
            raise GateHeld(result.gate_error)
    return result


class PathRefused(LoadError):
    """A symbolic link, a path leading outside the inbox, or not a regular file: never read."""


def _inside(inbox: Path, given: str) -> str:
    """``given`` as an inbox-relative path, or ``PathRefused`` (``..``, an absolute path elsewhere)."""
    try:
        return relative_in_inbox(inbox, given)
    except RefusedPath as exc:
        raise PathRefused(str(exc)) from None


def _open(inbox: Path, relative: str) -> InboxFile:
    """The inbox file, opened without following links (``inbox.open_in_inbox``); refusals as ``PathRefused``."""
    try:
        return open_in_inbox(inbox, relative)
    except RefusedPath as exc:
        raise PathRefused(str(exc)) from None
    except FileNotFoundError as exc:
        raise LoadError(str(exc)) from None


def _cause(exc: BaseException) -> str:
    """The cause as the user reads it: an expected failure by its message, anything else also by its type."""
    text = (str(exc).strip() or repr(exc)).replace("\x00", "\\x00")  # it may quote the file; no text holds a NUL
    return text if isinstance(exc, (UnreadableFile, LoadError)) else f"{type(exc).__name__}: {text}"


def _fail_batch(url: str, conn, batch_id: int, message: str) -> None:
    """Roll back the file's transaction and mark its batch failed with ``message``.

    The connection may be unusable by now (the server closed it, a protocol error): then the mark is
    made on a new one, so the batch never stays ``running`` for a failure already known.
    """
    update = "UPDATE ops.load_batches SET status = 'failed', message = %s, finished_at = now() WHERE batch_id = %s"
    try:
        conn.rollback()
        conn.execute(update, (message, batch_id))
        conn.commit()
    except psycopg.Error:
        log.warning("batch %s: the load's connection is unusable; marking it failed on a new one", batch_id)
        with psycopg.connect(url) as fresh:
            fresh.execute(update, (message, batch_id))


def _landed_batch(conn, source: str, department: str | None, relative: str, stat: tuple) -> LoadResult | None:
    """The path's latest batch when it is ``landed`` and read the file as it is now, as a result."""
    b = conn.cursor(row_factory=dict_row).execute(
        "SELECT * FROM ops.load_batches WHERE source = %s AND source_file = %s"
        " AND department_code IS NOT DISTINCT FROM %s AND status NOT IN ('interrupted', 'running')"
        " ORDER BY batch_id DESC LIMIT 1", (source, relative, department)).fetchone()  # fmt: skip
    if b is None or b["status"] != "landed" or (b["file_size"], b["file_mtime"]) != stat:
        return None
    log.info("%s: batch %s was loaded but not gated yet; gating it", relative, b["batch_id"])
    return _result_of(conn, b)


def _result_of(conn, b: dict) -> LoadResult:
    """A batch record (a row of ops.load_batches, as a dict) as a load result."""
    reasons = dict(conn.execute("SELECT reason_code, count(*) FROM ops.rejected_rows WHERE batch_id = %s"
                                " GROUP BY 1 ORDER BY 1", (b["batch_id"],)).fetchall())  # fmt: skip
    return LoadResult(b["source"], b["source_file"], b["file_sha256"], b["batch_id"], b["status"], b["rows_in"] or 0,
                      b["rows_loaded"] or 0, b["rows_rejected"] or 0, reasons, b["rows_protected"] or 0,
                      b.get("rows_not_returned") or 0, b.get("quarantine_reason"), b.get("gate_error"))  # fmt: skip


def apply_gate(url: str, results: list[LoadResult], *, archive_dir: Path | None = None,
               leftovers: list[int] = ()) -> list[LoadResult]:  # fmt: skip
    """Run the raw quality gate on the ``landed`` batches of ``results`` and on the batches ``leftovers``
    (left ``landed`` by an earlier load); mark the results passed, quarantined or held.

    Returns ``results`` followed by a result for each leftover batch not among them.
    """
    from credit_platform.ingest.gate import gate

    pending_gate = {r.batch_id: r for r in results if r.status == "landed"}
    extra = [b for b in dict.fromkeys(leftovers) if b not in pending_gate and b not in {r.batch_id for r in results}]
    if extra:
        with psycopg.connect(url) as conn:
            for batch_id in extra:
                b = conn.cursor(row_factory=dict_row).execute(
                    "SELECT * FROM ops.load_batches WHERE batch_id = %s AND status = 'landed'", (batch_id,)).fetchone()
                if b is not None:
                    left = _result_of(conn, b)
                    log.info("%s: batch %s was loaded but not gated yet; gating it", left.file, batch_id)
                    pending_gate[batch_id] = left
    for verdict in gate(url, list(pending_gate), archive_dir=archive_dir):
        r = pending_gate[verdict.batch_id]
        if verdict.held:
            r.status, r.gate_error = "landed", verdict.message()
        elif verdict.passed:
            r.status, r.gate_error = "loaded", None
        else:
            r.status, r.quarantine_reason, r.gate_error = "quarantined", verdict.message(), None
    return results + [r for b, r in pending_gate.items() if b in extra]


def load_files(url: str, files: list[str], *, inbox: Path | None = None, archive_dir: Path | None = None,
               as_of: dt.date | None = None, finish: str | None = None,
               again: bool = False) -> tuple[list[LoadResult], list[str]]:  # fmt: skip
    """Load the inbox files in order, each in its own transaction, then gate them together.

    Every file is tried. With ``finish`` (an inbox folder, "" for all), the batches under it that an
    earlier load left ``landed`` are gated too; ``again`` is ``load_file``'s. Returns the results and the
    failures (files that could not be loaded, and quarantined or held batches), each a message naming the
    file and the cause.
    """
    from credit_platform.ingest.gate import ungated

    results, failures = [], []
    for rel in files:
        try:
            results.append(load_file(url, rel, inbox=inbox, archive_dir=archive_dir, as_of=as_of, gate=False,
                                     again=again))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a LoadError, or a failure before the batch was opened
            failures.append(str(exc) if isinstance(exc, LoadError) else f"{rel}: {_cause(exc)}")
            log.error("%s", failures[-1], exc_info=not isinstance(exc, LoadError))
    leftovers = ungated(url, finish) if finish is not None else []
    results = apply_gate(url, results, archive_dir=archive_dir, leftovers=leftovers)
    failures += [r.quarantine_reason for r in results if r.status == "quarantined"]
    failures += [r.gate_error for r in results if r.status == "landed" and r.gate_error]
    return results, failures


def _record_in_ledger(conn, archive_dir: Path, batch_id: int, as_of: dt.date) -> None:
    """After the commit: the batch goes into the archive's ledger, which a rebuild replays."""
    cur = conn.execute("SELECT * FROM ops.load_batches WHERE batch_id = %s", (batch_id,))
    names = [d.name for d in cur.description]
    entry = dict(zip(names, cur.fetchone(), strict=True))
    entry["as_of"] = as_of.isoformat()
    append_ledger(archive_dir, entry)
    conn.commit()


class RelandMismatch(LoadError):
    """A batch landed again from the archive did not give the rows it gave the first time."""


def reland(url: str, entry: dict, *, archive_dir: Path | None = None) -> LoadResult:
    """Land one ledger entry again, from its archived file, under its own batch id.

    The batch record is kept (or, when the database has lost it, restored from the ledger with its
    original times), so that which period a batch was late for stays what it was. The rows read,
    loaded and rejected must equal the ledger's, else ``RelandMismatch`` (a batch quarantined when
    first loaded excepted: it fed no grade, and its cause may have been mended since). The gate's verdict is kept
    too: quarantined stays quarantined, a batch the gate passed (by the database's record or the
    ledger's) is ``loaded`` again; any other batch comes back ``landed``, for the caller to gate.
    """
    import tempfile

    archive_dir = archive_dir or paths().archive
    batch_id, relative, digest = int(entry["batch_id"]), entry["source_file"], entry["file_sha256"]
    archived = archive_dir / digest
    if not archived.is_file():
        raise LoadError(f"{relative}: batch {batch_id} is not in the archive (no {archived})")
    source = source_for(relative)
    if source is None or source.name != entry["source"]:
        raise LoadError(f"{relative}: batch {batch_id} was loaded as {entry['source']}, which no longer claims it")
    department = entry.get("department_code")
    as_of = dt.date.fromisoformat(entry["as_of"])
    with tempfile.TemporaryDirectory(prefix="credit-reland-") as tmp, psycopg.connect(url) as conn:
        path = Path(tmp) / "inbox" / relative
        path.parent.mkdir(parents=True)
        path.symlink_to(archived)
        known = conn.execute("SELECT file_sha256, status, gated_at FROM ops.load_batches WHERE batch_id = %s",
                             (batch_id,)).fetchone()  # fmt: skip
        if known is None:
            conn.execute(
                "INSERT INTO ops.load_batches (batch_id, source, department_code, source_file, file_sha256, status,"
                " file_size, file_mtime, started_at, finished_at) OVERRIDING SYSTEM VALUE"
                " VALUES (%s, %s, %s, %s, %s, 'running', %s, %s, %s, %s)",
                (batch_id, source.name, department, relative, digest, entry.get("file_size"), entry.get("file_mtime"),
                 entry["started_at"], entry["finished_at"]),
            )  # fmt: skip
            conn.execute("SELECT setval(pg_get_serial_sequence('ops.load_batches', 'batch_id'),"
                         " greatest((SELECT max(batch_id) FROM ops.load_batches), 1))")  # fmt: skip
        elif known[0] != digest:
            raise LoadError(f"{relative}: batch {batch_id} holds {known[0]} in ops.load_batches, the ledger {digest}")
        result = _load_rows(conn, source, path, relative, Path(tmp) / "archive", batch_id, department, as_of,
                            reland=True)  # fmt: skip
        if result.sha256 != digest:
            raise RelandMismatch(f"{relative}: the archived file of batch {batch_id} hashes to {result.sha256}")
        counts = (result.rows_in, result.rows_loaded, result.rows_rejected, result.rows_protected)
        expected = tuple(entry.get(k) for k in ("rows_in", "rows_loaded", "rows_rejected", "rows_protected"))
        if counts != expected and entry.get("status") == "quarantined":
            # Quarantined, it fed no grade, and stays so: a cause mended since (a heading, an allow-listed
            # code) may give other counts today, the very bytes loaded again as a new batch (``again``).
            log.warning("%s: batch %s, quarantined when first loaded, gives rows in/loaded/rejected/protected %s"
                        " today (%s then); it stays quarantined", relative, batch_id, counts, expected)  # fmt: skip
        elif counts != expected:
            raise RelandMismatch(f"{relative}: batch {batch_id} gave rows in/loaded/rejected/protected {counts}"
                                 f" from the archive, {expected} when first loaded")  # fmt: skip
        prior = known[1:] if known else (None, None)
        if entry.get("status") == "quarantined":  # quarantined when first loaded: so again, for the same reason
            conn.execute(
                "UPDATE ops.load_batches SET status = 'quarantined', quarantine_reason = %s, quarantined_at = %s,"
                " gated_at = coalesce(gated_at, %s, %s) WHERE batch_id = %s",
                (entry.get("quarantine_reason"), entry.get("quarantined_at"), entry.get("gated_at"),
                 entry.get("quarantined_at"), batch_id))  # fmt: skip
            result.status, result.quarantine_reason = "quarantined", entry.get("quarantine_reason")
        elif prior[0] == "quarantined":
            conn.execute("UPDATE ops.load_batches SET status = 'quarantined' WHERE batch_id = %s", (batch_id,))
            result.status = "quarantined"
        elif (entry.get("status") == "loaded" and entry.get("gated_at")) or (prior[0] == "loaded" and prior[1]):
            conn.execute("UPDATE ops.load_batches SET status = 'loaded', gated_at = coalesce(gated_at, %s)"
                         " WHERE batch_id = %s", (entry.get("gated_at"), batch_id))  # fmt: skip
            result.status = "loaded"
        conn.commit()
    return result


def _claim(conn, source: Source, department: str | None, digest: str, batch_id: int, *, again: bool = False) -> None:
    """Raise ``_Duplicate`` when these bytes were loaded (gated or not, or quarantined) already; else hold
    them until commit. A duplicate of a batch still ``landed`` keeps nothing: that batch is gated by the next load.
    With ``again``, a quarantined batch of the same bytes does not count (``load_file``)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{source.name}|{department}|{digest}",))
    statuses = ["landed", "loaded"] if again else ["landed", "loaded", "quarantined"]
    done = conn.execute(
        "SELECT batch_id FROM ops.load_batches WHERE source = %s AND file_sha256 = %s AND status = ANY(%s)"
        " AND department_code IS NOT DISTINCT FROM %s AND batch_id <> %s ORDER BY batch_id LIMIT 1",
        (source.name, digest, statuses, department, batch_id),
    ).fetchone()
    if done:
        raise _Duplicate(digest, done[0])
    conn.execute("UPDATE ops.load_batches SET file_sha256 = %s WHERE batch_id = %s", (digest, batch_id))


def _load_rows(conn, source: Source, path: Path, relative: str, archive_dir: Path, batch_id: int,
               department: str | None, as_of: dt.date, *, reland: bool = False,
               again: bool = False) -> LoadResult:  # fmt: skip
    if department is not None and department not in departments():
        known = ", ".join(sorted(departments()))
        raise UnreadableFile(f"unknown department code {department!r} in the path (known: {known})")
    tap = ArchivingTap(archive_dir)
    try:
        landed = stage_file(conn, source, path, department, RawTarget(batch_id, relative, department), tap)
    finally:
        tap.discard()  # nothing left to discard when the COPY used it
    digest = landed.digest
    if digest is None:
        digest = sha256_of(path)
        archive(path, digest, archive_dir)
    if reland:  # the ledger's batch was claimed when first loaded; the same bytes loaded again later are too
        conn.execute("UPDATE ops.load_batches SET file_sha256 = %s WHERE batch_id = %s", (digest, batch_id))
    else:
        _claim(conn, source, department, digest, batch_id, again=again)
    blanks = validate.build(conn, source, landed, department=department, as_of=as_of, rules=rules())
    issues = sql.Identifier(validate.ISSUES)
    conn.execute(sql.SQL("ANALYZE {}").format(issues))
    not_returned = validate.not_returned(conn)
    has_uscc = any(c.type == "uscc" for c in source.columns) and "uscc" in landed.positions
    schema, name = source.table.split(".")
    raw_table = sql.Identifier(schema, name)

    # The rows that do not stay (natural persons, rejected) are few: read by their row address.
    def aside(condition: str) -> sql.Composable:
        return sql.SQL("(SELECT s.* FROM {} s WHERE s.ctid = ANY(ARRAY(SELECT tid FROM {} WHERE {})))").format(
            landed.relation, issues, sql.SQL(condition))

    record = _record_sql(landed)
    protected = conn.execute(sql.SQL(
        "INSERT INTO raw.protected_person_records (batch_id, source, source_file, row_number, record)"
        " SELECT %s, %s, %s, s.row_number, {} FROM {} s"
    ).format(record, aside("is_natural_person")), (batch_id, source.name, relative)).rowcount  # fmt: skip
    if not_returned:  # a form's rows the department has not filled in yet: kept aside, a later file returns them
        conn.execute(sql.SQL("INSERT INTO ops.unreturned_rows (batch_id, row_number, record)"
                             " SELECT %s, s.row_number, {} FROM {} s").format(record, aside("is_pending")),
                     (batch_id,))  # fmt: skip

    cells = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN s.{}").format(sql.Literal(col), sql.Identifier(col)) for col in landed.positions
    ) if landed.positions else sql.SQL("")  # fmt: skip
    rows_rejected = conn.execute(sql.SQL(
        "INSERT INTO ops.rejected_rows (batch_id, source_file, row_number, reason_code, reason, column_name,"
        " raw_value, record, reason_codes, problems)"
        " SELECT %s, %s, v.row_number, split_part(v.reasons[1], '@', 1),"
        "   (SELECT string_agg(coalesce(%s::jsonb ->> split_part(r, '@', 1), split_part(r, '@', 1))"
        "           || CASE WHEN split_part(r, '@', 2) = 'row' THEN '' ELSE ' (' || split_part(r, '@', 2) || ')' END,"
        "           '; ') FROM unnest(v.reasons) r),"
        "   nullif(split_part(v.reasons[1], '@', 2), 'row'),"
        "   CASE split_part(v.reasons[1], '@', 2) {} END,"
        "   {}, (SELECT array_agg(split_part(r, '@', 1)) FROM unnest(v.reasons) r), v.reasons"
        " FROM {} s JOIN {} v USING (row_number) WHERE v.reasons <> '{{}}' AND NOT v.is_natural_person").format(
        cells, record, aside("reasons <> '{}' AND NOT is_natural_person"), issues),
        (batch_id, relative, validate.reason_messages_json())).rowcount  # fmt: skip

    if landed.in_raw:
        # The file was copied straight into the raw table: take out what does not stay, then
        # write the normalised credit codes and the warning flags onto the rows that need them.
        conn.execute(sql.SQL(
            "DELETE FROM {} s WHERE s.ctid = ANY(ARRAY("
            " SELECT tid FROM {} WHERE reasons <> '{{}}' OR is_natural_person OR is_blank OR is_pending))"
        ).format(raw_table, issues))  # fmt: skip
        fix_uscc = (sql.SQL("uscc = v.uscc, uscc_original = CASE WHEN s.uscc IS DISTINCT FROM v.uscc THEN s.uscc END, ")
                    if has_uscc else sql.SQL(""))  # fmt: skip
        conn.execute(sql.SQL(
            "UPDATE {} s SET {}flags = v.flags FROM {} v"
            " WHERE s.ctid = ANY(ARRAY(SELECT tid FROM {} WHERE reasons = '{{}}' AND NOT is_natural_person"
            "   AND NOT is_blank AND NOT is_pending))"
            " AND v.row_number = s.row_number").format(raw_table, fix_uscc, issues, issues))  # fmt: skip
    else:
        present = list(landed.positions)
        target = ["batch_id", "source_file", "row_number"] + (["department_code"] if department else [])
        target += present + (["uscc_original"] if has_uscc else []) + ["flags"]
        values = [sql.Literal(batch_id), sql.Literal(relative), sql.SQL("s.row_number")]
        if department:
            values.append(sql.Literal(department))
        values += [sql.SQL("coalesce(v.uscc, s.uscc)") if c == "uscc" and has_uscc
                   else sql.SQL("s.{}").format(sql.Identifier(c)) for c in present]  # fmt: skip
        if has_uscc:
            values.append(sql.SQL("CASE WHEN v.uscc IS NOT NULL AND s.uscc IS DISTINCT FROM v.uscc THEN s.uscc END"))
        values.append(sql.SQL("coalesce(v.flags, '{}')"))
        conn.execute(sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {} s LEFT JOIN {} v USING (row_number)"
            " WHERE v.row_number IS NULL"
            " OR (v.reasons = '{{}}' AND NOT v.is_natural_person AND NOT v.is_blank AND NOT v.is_pending)").format(
            raw_table, sql.SQL(", ").join(map(sql.Identifier, target)), sql.SQL(", ").join(values),
            landed.relation, issues))  # fmt: skip

    rows_in = landed.rows_in - blanks - not_returned  # rows of empty cells are not rows; unreturned ones wait
    rows_loaded = rows_in - rows_rejected
    reasons = dict(conn.execute(
        "SELECT reason_code, count(*) FROM ops.rejected_rows WHERE batch_id = %s GROUP BY 1 ORDER BY 1", (batch_id,)
    ).fetchall())  # fmt: skip
    # A batch landed again from the archive keeps when it first finished (which decides the
    # periods it was late for) and records when it was rebuilt.
    stamp = sql.Identifier("relanded_at" if reland else "finished_at")
    conn.execute(sql.SQL(
        "UPDATE ops.load_batches SET status = 'landed', rows_in = %s, rows_loaded = %s, rows_rejected = %s,"
        " rows_protected = %s, missing_columns = %s, {} = clock_timestamp(), message = %s, header_row = %s,"
        " rows_not_returned = %s WHERE batch_id = %s"
    ).format(stamp), (rows_in, rows_loaded, rows_rejected, protected, landed.missing_required(source) or None,
                      _message(landed, reasons), landed.header_row, not_returned, batch_id))  # fmt: skip
    return LoadResult(source.name, relative, digest, batch_id, "landed", rows_in, rows_loaded, rows_rejected,
                      reasons, protected, not_returned)  # fmt: skip


def _record_sql(landed) -> sql.Composable:
    """The row as read: header -> cell, as JSON."""
    pairs = [sql.SQL("{}, s.{}").format(sql.Literal(h or f"column_{i + 1}"), sql.Identifier(c))
             for i, (h, c) in enumerate(zip(landed.header, landed.columns, strict=True))]  # fmt: skip
    chunks = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i : i + 40]))
              for i in range(0, len(pairs), 40)] or [sql.SQL("'{}'::jsonb")]  # fmt: skip
    if landed.has_shape_errors:  # the cells of a row longer than the header, kept too
        chunks.append(sql.SQL("CASE WHEN s.extra_cells IS NULL THEN '{}'::jsonb"
                              " ELSE jsonb_build_object('_cells_beyond_header', s.extra_cells::jsonb) END"))
    return sql.SQL(" || ").join(chunks)


def _message(landed, reasons: dict) -> str:
    where = " straight into the raw table" if landed.in_raw else ""
    parts = [f"read by {'PostgreSQL COPY' if landed.path == 'server' else 'Python'}{where}"]
    if landed.encoding:
        parts.append(f"encoding {landed.encoding}")
    if landed.sheet:
        parts.append(f"sheet {landed.sheet}")
    if reasons:
        parts.append("rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    return "; ".join(parts)


# Within a department, registers load before the records that refer to them.
LOAD_ORDER = ["subject_register", "supervision_scope", "inspection_matter", "inspector_roster",
              "serious_dishonesty", "commendation", "penalty", "licence", "commitment", "inspection_result",
              "credit_repair", "complaint", "external_grade", "grade_adjustment", "measure_execution",
              "objection", "repair_application"]  # fmt: skip


def departments_with_files(url: str | None = None, inbox: Path | None = None) -> list[str]:
    """Departments with files in the inbox (with ``url``: with files not yet loaded as they are, or
    with batches an earlier load left ``landed``, which its load then gates)."""
    inbox = inbox or paths().inbox
    files = pending(url, inbox, prefix="departments") if url else discover(inbox, prefix="departments")
    found = {PurePosixPath(rel).parts[1] for rel in files if len(PurePosixPath(rel).parts) > 1}
    if url:
        found |= _departments_with_landed_batches(url)
    return sorted(found)


def _departments_with_landed_batches(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {d for (d,) in conn.execute(
            "SELECT DISTINCT department_code FROM ops.load_batches WHERE status = 'landed'"
            " AND source_file LIKE 'departments/%' AND department_code IS NOT NULL")}  # fmt: skip


class Quarantined(LoadError):
    """Some batch failed the raw quality gate: retrying cannot help, the file must be corrected."""


def load_department(url: str, department_code: str, *, inbox: Path | None = None,
                    only_pending: bool = False) -> list[LoadResult]:  # fmt: skip
    """Load the files of one department (all, or the pending ones); every file is tried, then failures raised.

    The department's batches an earlier load left ``landed`` are gated with them. Raises
    ``Quarantined`` when a batch failed the raw quality gate, else ``LoadError`` when a file could
    not be loaded or a batch was held (the gate could not run its checks: a retry gates it again);
    either way the message names each file and its cause.
    """
    inbox = inbox or paths().inbox
    prefix = f"departments/{department_code}"
    files = pending(url, inbox, prefix=prefix) if only_pending else discover(inbox, prefix=prefix)
    rank = {name: i for i, name in enumerate(LOAD_ORDER)}
    files.sort(key=lambda rel: (rank.get(getattr(source_for(rel), "name", None), len(rank)), rel))
    results, failures = load_files(url, files, inbox=inbox, finish=prefix + "/")
    if failures:
        kind = Quarantined if any(r.status == "quarantined" for r in results) else LoadError
        tried = len(set(files) | {r.file for r in results})
        raise kind(f"{len(failures)} of {tried} file(s) of {department_code} failed:\n" + "\n".join(failures))
    return results

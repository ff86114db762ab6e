"""A publication run: from the validated grades to every platform, incrementally and exactly once.

1. Refuse unless the latest marts checkpoint passed and the period is not held back by drift
   (``credit_platform.quality.drift``); one rebuild at a time, and no send while one runs
   (advisory locks; sends to different platforms may run at once).
2. Rebuild the ``publish`` tables from the marts as of the run's day, aside (``<dataset>__next``),
   withholding every record that carries a resident ID number (``ops.publication_withheld``, named
   in the run's report and log): the rest is published.
3. The publication checkpoint (``expectations/publication.py``) validates exactly what each
   platform and each view would receive (the rows that changed since the published tables passed
   the same checks); on failure nothing changes and nothing leaves.
4. Swap the tables in and recreate the views (``credit_platform.publish.tables``).
5. Per platform, first the batches an earlier run left unacknowledged, resent as they were (same
   bytes, same idempotency key); then what changed since the state the platform acknowledged
   (``ops.publication_state``): new or changed items and withdrawals, one batch per dataset
   holding every change of the run (in several only for a platform that sets ``max_items``, the
   most records its receiving end accepts in a file). Each batch is written to the spool with its
   manifest and recorded with its items before it is sent; only the platform's acknowledgement
   moves the state. A platform that fails after its last retry keeps its batch for the next run,
   and the run fails naming it once the other platforms are done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import pickle
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from credit_platform.publish import config as configuration
from credit_platform.publish import formats, tables, transport
from credit_platform.publish.config import Config, Dataset, Platform
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url

log = logging.getLogger(__name__)
LOCK = 72_215_003  # pg_advisory_lock key reserved for publication (migrations 72_215_001, what-if 72_215_002)
PLATFORM_LOCK = 72_215_004  # pg_advisory_lock(PLATFORM_LOCK, hashtext(platform)): one send per platform at a time
TZ = dt.timezone(dt.timedelta(hours=8))


class PublicationBlocked(RuntimeError):
    """A deliberate stop before anything is sent: retrying cannot help."""


class PublicationFailed(RuntimeError):
    """Some batches were not acknowledged after their last retry; they go again on the next run."""


@dataclass
class Batch:
    publication_id: int
    platform: str
    dataset: str
    idempotency_key: str
    upserts: int
    withdrawals: int
    path: Path
    status: str = "prepared"
    receipt: str | None = None
    attempts: int = 0
    resent: bool = False
    sha256: str | None = None


@dataclass
class Report:
    as_of: dt.date
    rows: dict[str, int] = field(default_factory=dict)
    batches: list[Batch] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    validation_run_id: int | None = None
    seconds: float = 0.0
    run_key: str | None = None
    withheld: list[tuple[str, str, str]] = field(default_factory=list)  # (dataset, item_key, column)

    def summary(self) -> str:
        sent = [b for b in self.batches if b.status == "acknowledged"]
        lines = [f"publication as of {self.as_of}: " + ", ".join(f"{k} {v}" for k, v in self.rows.items())]
        lines += [f"  WITHHELD {ds} {key}: resident ID number in {col} / 含身份证号码，未发布"
                  for ds, key, col in self.withheld]  # fmt: skip
        for b in sent:
            lines.append(f"  {b.platform:10} {b.dataset:13} +{b.upserts} -{b.withdrawals}"
                         f"{' (resent)' if b.resent else ''}: {b.receipt}")  # fmt: skip
        if not sent:
            lines.append("  nothing changed: nothing sent")
        lines += [f"  FAILED {f}" for f in self.failures]
        return "\n".join(lines)


def latest_period(conn) -> str:
    row = conn.execute(
        "SELECT evaluation_period FROM marts.fct_industry_credit_grades ORDER BY period_end_date DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise PublicationBlocked("marts.fct_industry_credit_grades is empty: nothing to publish")
    return row[0]


def _check_validation(conn) -> None:
    row = conn.execute(
        "SELECT success, validated_at FROM ops.validation_runs WHERE stage = 'marts'"
        " ORDER BY validated_at DESC, validation_run_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise PublicationBlocked("the grades have not been validated (no marts checkpoint run): nothing published")
    if not row[0]:
        raise PublicationBlocked(f"the latest marts checkpoint ({row[1]:%Y-%m-%d %H:%M}) failed: nothing published")


def publish(url: str, *, config: Config | None = None, as_of: dt.date | None = None, outbox: Path | None = None,
            spool: Path | None = None, endpoints: dict[str, transport.Endpoint] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Report:  # fmt: skip
    """Publish to every platform of ``config`` as the publisher at ``url``: ``prepare``, then
    ``send``. ``endpoints``: the HTTP endpoint of each platform whose transport is http (from its
    Airflow connection)."""
    report = prepare(url, config=config, as_of=as_of)
    sent = send(url, config=config, outbox=outbox, spool=spool, endpoints=endpoints, sleep=sleep)
    sent.rows, sent.validation_run_id, sent.as_of = report.rows, report.validation_run_id, report.as_of
    sent.run_key, sent.withheld = report.run_key, report.withheld
    sent.seconds += report.seconds
    return sent


class _Locked:
    """On its own connection, the publication lock (a session advisory lock): ``prepare`` holds it
    alone; each ``send`` shares it (so no rebuild swaps the tables under a send) and holds alone
    the lock of each platform it sends to, so that sends to different platforms run at once."""

    def __init__(self, url: str, platforms: Iterable[str] | None = None):
        self.platforms = None if platforms is None else list(platforms)
        self.conn = psycopg.connect(libpq_url(url))

    def __enter__(self):
        c = self.conn
        shared = "_shared" if self.platforms is not None else ""
        if not c.execute(f"SELECT pg_try_advisory_lock{shared}(%s)", (LOCK,)).fetchone()[0]:
            c.close()
            raise PublicationBlocked("another publication run is in progress (a rebuild, or a send while this one"
                                     " rebuilds): this one did nothing")  # fmt: skip
        for name in self.platforms or ():
            if not c.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (PLATFORM_LOCK, name)).fetchone()[0]:
                c.close()  # (closing the session releases what it holds)
                raise PublicationBlocked(f"another run is sending to {name}: this one did nothing")
        c.commit()
        return c

    def __exit__(self, *exc):
        with self.conn:
            self.conn.rollback()
            self.conn.execute("SELECT pg_advisory_unlock_all()")
            self.conn.commit()


def prepare(url: str, *, config: Config | None = None, as_of: dt.date | None = None) -> Report:
    """Steps 1-4: check the gates, rebuild ``publish`` as of ``as_of`` (default today), validate
    what would leave, and swap it in. Raises PublicationBlocked with the reason."""
    t0 = time.monotonic()
    config = config or configuration.load()
    report = Report(as_of or dt.datetime.now(TZ).date())
    with _Locked(url) as conn:
        _check_validation(conn)
        from credit_platform.quality.drift import blocked

        why = blocked(conn, latest_period(conn))
        if why:
            raise PublicationBlocked(why)
        conn.commit()
        report.run_key = f"{report.as_of.isoformat()}.{uuid.uuid4().hex}"
        report.rows = tables.rebuild(conn, config, report.as_of, suffix="__next", run_key=report.run_key)
        report.withheld = _withheld(conn, report.run_key)
        report.validation_run_id = _validate(url, conn, config)
        tables.swap(conn, config, suffix="__next")
    report.seconds = time.monotonic() - t0
    log.info("publish rebuilt as of %s and validated in %.1f s: %s", report.as_of, report.seconds,
             ", ".join(f"{k} {v}" for k, v in report.rows.items()))  # fmt: skip
    return report


def _withheld(conn, run_key: str) -> list[tuple[str, str, str]]:
    """The records this run left out for a resident ID number, logged for the data team."""
    found = [tuple(r) for r in conn.execute(
        "SELECT dataset, item_key, string_agg(column_name, ',' ORDER BY column_name) FROM ops.publication_withheld"
        " WHERE run_key = %s GROUP BY dataset, item_key ORDER BY dataset, item_key", (run_key,))]  # fmt: skip
    conn.commit()
    for ds, key, cols in found:
        log.warning("withheld %s %s: a resident ID number in %s; not published until the source record is"
                    " corrected / 含身份证号码，未发布 (ops.publication_withheld run %s)",
                    ds, key, cols, run_key)  # fmt: skip
    return found


def send(url: str, *, config: Config | None = None, outbox: Path | None = None, spool: Path | None = None,
         endpoints: dict[str, transport.Endpoint] | None = None,
         sleep: Callable[[float], None] = time.sleep, platforms: Iterable[str] | None = None) -> Report:  # fmt: skip
    """Step 5: every platform (or those named in ``platforms``) gets what changed since it last
    acknowledged (unacknowledged batches first). Sends to different platforms may run at once, in
    processes of their own (the DAG maps one send task per platform). Raises PublicationFailed,
    naming the platforms, when some did not acknowledge."""
    t0 = time.monotonic()
    config = config or configuration.load()
    outbox = outbox or paths().outbox
    spool = spool or paths().local / "publications"
    report = Report(dt.datetime.now(TZ).date())
    chosen = list(config.platforms.values())
    if platforms is not None:
        names = list(platforms)
        unknown = sorted(set(names) - set(config.platforms))
        if unknown:
            raise PublicationBlocked(f"no platform {', '.join(unknown)} in publication.yml (platforms:"
                                     f" {', '.join(config.platforms)})")  # fmt: skip
        chosen = [p for p in chosen if p.name in names]
    with _Locked(url, [p.name for p in chosen]) as conn:
        for platform in chosen:
            try:
                _publish_platform(conn, url, config, platform, outbox, spool, endpoints or {}, sleep, report)
            except transport.DeliveryFailed as exc:
                report.failures.append(f"{platform.name}: {exc}")
    report.seconds = time.monotonic() - t0
    log.info("%s\n(%.1f s)", report.summary(), report.seconds)
    if report.failures:
        raise PublicationFailed(
            f"{len(report.failures)} platform(s) did not acknowledge; their batches are kept and go again on the"
            " next run:\n" + "\n".join(f"- {f}" for f in report.failures)
        )
    return report


# -- what an audience receives ---------------------------------------------------------------------


def projection(dataset: Dataset, columns: tuple[str, ...], levels: tuple[str, ...], table: str,
               programme: str | None = None, *, ordered: bool = True) -> sql.Composed:  # fmt: skip
    """The rows of ``levels`` with ``columns`` (after the key and level), ordered by key unless not
    ``ordered`` (a check's query: each of its checks would sort every row again); of a
    partners-only dataset, only the rows of ``programme``."""
    own = sql.SQL(" AND programme = {}").format(sql.Literal(programme)) if programme else sql.SQL("")
    return sql.SQL("SELECT item_key, disclosure_level{cols} FROM {table} WHERE disclosure_level IN ({levels}){own}"
                   "{order}").format(  # fmt: skip
        cols=sql.SQL("").join(sql.SQL(", ") + sql.Identifier(c) for c in columns),
        table=sql.Identifier("publish", table),
        levels=sql.SQL(", ").join(sql.Literal(lv) for lv in levels),
        own=own,
        order=sql.SQL(" ORDER BY item_key" if ordered else ""),
    )


def audiences(config: Config) -> list[dict]:
    """Every audience of every dataset: (name, dataset, columns, levels)."""
    out = []
    for ds in config.datasets.values():
        for level in ("public", "authorised"):
            if level in ds.levels:
                out.append({"name": f"{ds.name}.view_{level}", "dataset": ds, "columns": ds.levels[level],
                            "levels": (level,)})  # fmt: skip
        for p in config.platforms.values():
            cols = config.columns_for(p, ds)
            if cols:
                out.append({"name": f"{ds.name}.{p.name}", "dataset": ds, "columns": cols, "levels": p.levels(),
                            "programme": p.programme})  # fmt: skip
    return out


def checkpoint_signature(checks: list[dict]) -> str:
    """md5 of what decides the publication checkpoint's outcome on a row besides its values: the
    checks of a dataset (each audience's columns and levels, the columns searched, the credit-code
    prefixes and provinces) and the code of the suite's rules (``expectations/publication.py`` and the
    templates it uses)."""
    import json

    from credit_platform.quality.checkpoints import suite_module

    rules = Path(suite_module("publication").__file__)
    code = b"".join(rules.with_name(name).read_bytes() for name in ("publication.py", "templates.py"))
    return hashlib.md5(json.dumps(checks, sort_keys=True, default=list).encode() + code,
                       usedforsecurity=False).hexdigest()  # fmt: skip


def _checks_of(conn, config: Config, ds: Dataset, table: str) -> list[dict]:
    """The checkpoint's entries for a dataset rebuilt as ``publish.<table>``: the dataset whole
    (``<dataset>.all``: every column, its text values and credit codes searched for ID numbers),
    then each audience (its columns and levels)."""
    text_cols = [c for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'publish' AND table_name = %s"
        " AND data_type IN ('text', 'character varying') AND column_name NOT IN ('item_key', 'uscc')"
        " ORDER BY ordinal_position", (table,))]  # fmt: skip
    everything = tables.all_columns(ds)
    entries = [{"name": f"{ds.name}.all", "columns": everything, "levels": tuple(ds.levels),
                "text_columns": [c for c in text_cols if c in everything],
                "code_columns": ["uscc"] if "uscc" in everything else [], "uscc_prefixes": config.uscc_prefixes,
                "uscc_provinces": config.uscc_provinces}]  # fmt: skip
    return entries + [{"name": a["name"], "columns": list(a["columns"]), "levels": a["levels"], "text_columns": [],
                       "programme": a.get("programme")} for a in audiences(config) if a["dataset"] is ds]  # fmt: skip


def _validate(url: str, conn, config: Config) -> int | None:
    """The publication checkpoint over what each audience would receive from the rebuilt tables.

    Each audience's rows are a view beside the rebuilt tables (``publish.<dataset>__next__<audience>``,
    read by the publisher alone, as the tables are), validated as a table: given a query instead,
    Great Expectations runs the whole query once more only to learn its column names, and holds
    every row it returns in memory. The views are dropped after the checkpoint.

    Only what changed is read: when the published table passed the same checks
    (``checkpoint_signature``), the views read the rebuilt rows not identical to one of its rows
    (``tables.set_aside_changes``); its other rows passed these checks as they are. Whatever the
    withholding did or missed, every row that leaves has been through the checkpoint."""
    from credit_platform.quality.checkpoints import ValidationFailed, run_checkpoint

    checks, views, aside, passed = [], [], [], []
    for ds in config.datasets.values():
        table = f"{ds.name}__next"
        entries = _checks_of(conn, config, ds, table)
        signature = checkpoint_signature(entries)
        changes = tables.set_aside_changes(conn, table, ds.name, signature)
        source, validated = changes or (table, None)
        if changes:
            aside.append(source)
        passed.append((table, signature, validated))
        for check in entries:
            if check["name"].endswith(".all"):  # every column
                rows = sql.SQL("SELECT item_key, disclosure_level, {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, check["columns"])), sql.Identifier("publish", source))
            else:
                rows = projection(ds, check["columns"], check["levels"], source, check.pop("programme"), ordered=False)
            view = f"{table}__{check['name'].split('.', 1)[1]}"
            conn.execute(sql.SQL("CREATE VIEW {} AS {}").format(sql.Identifier("publish", view), rows))
            views.append(view)
            checks.append({**check, "table": f"publish.{view}"})
    conn.commit()
    try:
        try:
            outcome = run_checkpoint(url, "publication", checks=checks)
        finally:
            conn.rollback()
            for view in views:
                conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier("publish", view)))
            for changed in aside:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("publish", changed)))
            conn.commit()
    except ValidationFailed as exc:
        tables.drop(conn, config, suffix="__next")  # what failed must not stay in publish
        raise PublicationBlocked(f"the publication checkpoint failed: nothing published\n{exc}") from exc
    for table, signature, validated in passed:
        tables.record_checkpoint(conn, table, signature, validated)
    conn.commit()
    return outcome.validation_run_id


# -- one platform ------------------------------------------------------------------------------------


def _publish_platform(conn, url: str, config: Config, platform: Platform, outbox: Path, spool: Path,
                      endpoints: dict, sleep, report: Report) -> None:  # fmt: skip
    pending = conn.execute(
        "SELECT publication_id, dataset, idempotency_key, upserts, withdrawals, output_path, file_sha256"
        " FROM ops.publications WHERE platform = %s AND status IN ('prepared', 'sent', 'failed')"
        " AND idempotency_key IS NOT NULL ORDER BY publication_id", (platform.name,)).fetchall()  # fmt: skip
    conn.commit()
    for pid, dataset, key, ups, wds, path, digest in pending:
        batch = Batch(pid, platform.name, dataset, key, ups, wds, Path(path), resent=True, sha256=digest)
        if not batch.path.exists():
            raise PublicationBlocked(f"batch {key} ({platform.name}, ops.publications #{pid}) must be resent,"
                                     f" but its file {path} is gone: restore it from a backup")  # fmt: skip
        if _file_sha256(batch.path) != digest:
            raise PublicationBlocked(f"batch {key} in {path} was changed after it was prepared: not sent")
        _deliver(conn, config, platform, batch, outbox, endpoints, sleep, report)
    for ds in config.datasets.values():
        cols = config.columns_for(platform, ds)
        if not cols:
            continue
        folder = spool / platform.name
        folder.mkdir(parents=True, exist_ok=True)
        # The changes go to a file first (in key order, each record once), so that neither they nor
        # the batch files are ever held in memory: a first publication holds every grade.
        with tempfile.TemporaryFile(dir=folder, prefix=".changes-") as pending_changes:
            total = _spool_changes(url, ds, platform, cols, pending_changes)
            pending_changes.seek(0)
            for size in batch_sizes(total, platform.max_items):
                batch = _prepare(conn, platform, ds, cols, pending_changes, size, folder)
                _deliver(conn, config, platform, batch, outbox, endpoints, sleep, report)


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _as_text(column: str, type_name: str) -> sql.Composable:
    """A column's value as ``formats.text`` writes it (dates ISO, booleans 是/否, numbers without
    exponent, NULL empty), in SQL: the content digest is computed where the rows are."""
    col = sql.SQL("d.") + sql.Identifier(column)
    base = type_name.split("(")[0]
    if base in ("text", "character varying", "character", "smallint", "integer", "bigint"):
        value = col if base in ("text", "character varying") else sql.SQL("{}::text").format(col)
    elif base == "date":
        value = sql.SQL("to_char({}, 'YYYY-MM-DD')").format(col)
    elif base == "boolean":
        value = sql.SQL("CASE WHEN {c} THEN '是' WHEN NOT {c} THEN '否' END").format(c=col)
    elif base == "numeric":  # an integral amount without its decimals (5.00 -> 5), any other as stored
        value = sql.SQL("CASE WHEN {c} = trunc({c}) THEN trunc({c})::text ELSE {c}::text END").format(c=col)
    else:
        raise ValueError(f"column {column} is of type {type_name}, which publication cannot digest: publish it as"
                         " text, a date, a boolean, an integer or a numeric")  # fmt: skip
    return sql.SQL("coalesce({}, '')").format(value)


def content_digest(conn, table: str, cols: tuple[str, ...]) -> sql.Composed:
    """The SQL of a published record's content digest over ``cols`` of ``publish.<table>`` (alias
    ``d``): the SHA-256 of the JSON array of its level and its values as the platforms read them,
    ``["public", "91140681MA0K1234XY", "A", ...]`` (UTF-8, ``", "`` between values), as
    ``ops.publication_state`` holds what each platform acknowledged."""
    if len(cols) > 99:
        raise ValueError(f"{table}: {len(cols)} columns; a digest takes at most 99")
    types = tables.column_types(conn, sql.Identifier("publish", table))
    values = sql.SQL(", ").join([sql.SQL("d.disclosure_level"), *(_as_text(c, types[c]) for c in cols)])
    return sql.SQL("encode(sha256(convert_to(json_build_array({})::text, 'UTF8')), 'hex')").format(values)


def _spool_changes(url: str, ds: Dataset, platform: Platform, cols: tuple[str, ...], out) -> int:
    """Write to ``out`` (pickled, one record after another) the changes that make the platform hold
    exactly what it may, as of the published tables and the state it acknowledged; returns how
    many. Read on a connection of its own, through server-side cursors, in key order: only the
    records whose digest differs from the one acknowledged leave the server."""
    rows = projection(ds, cols, platform.levels(), ds.name, platform.programme, ordered=False)
    n = 0
    with psycopg.connect(libpq_url(url)) as reader:
        # (OFFSET 0 keeps the inner query whole, so that each digest is computed once, not again in WHERE)
        desired = sql.SQL(
            "SELECT * FROM (SELECT d.*, {digest} AS content_sha256, s.content_sha256 AS held FROM ({rows}) AS d"
            " LEFT JOIN ops.publication_state AS s ON s.platform = {platform} AND s.dataset = {dataset}"
            " AND s.item_key = d.item_key OFFSET 0) AS c WHERE c.held IS DISTINCT FROM c.content_sha256"
            " ORDER BY c.item_key"
        ).format(rows=rows, platform=sql.Literal(platform.name), dataset=sql.Literal(ds.name),
                 digest=content_digest(reader, ds.name, cols))  # fmt: skip
        # In the order Python sorts the keys (by code point, as the C collation does).
        gone = sql.SQL(
            "SELECT s.item_key, s.disclosure_level FROM ops.publication_state AS s WHERE s.platform = {platform}"
            " AND s.dataset = {dataset} AND NOT EXISTS (SELECT 1 FROM ({rows}) AS d WHERE d.item_key = s.item_key)"
            ' ORDER BY s.item_key COLLATE "C"'
        ).format(rows=rows, platform=sql.Literal(platform.name), dataset=sql.Literal(ds.name))
        with reader.cursor(name="publication_desired") as desired_rows, \
                reader.cursor(name="publication_withdrawn") as withdrawn_rows:  # fmt: skip
            desired_rows.itersize = withdrawn_rows.itersize = 5000
            desired_rows.execute(desired)
            withdrawn_rows.execute(gone)
            wanted = ((key, level, values, digest) for key, level, *values, digest, _held in desired_rows)
            for item, digest in changes(wanted, withdrawn_rows, cols):
                pickle.dump((item, digest), out, protocol=pickle.HIGHEST_PROTOCOL)
                n += 1
    return n


def changes(changed: Iterable[tuple[str, str, list, str]], withdrawn: Iterable[tuple[str, str]],
            cols: tuple[str, ...]) -> Iterator[tuple[formats.Item, str | None]]:  # fmt: skip
    """The items of a run: new or changed records (``changed``: key, level, values and content
    digest) as upserts, then withdrawals (``withdrawn``: key and level of what the platform holds
    that is no longer published, or no longer at a level it is cleared for): (item, its digest)."""
    for key, level, values, digest in changed:
        yield formats.Item(key, "upsert", level, dict(zip(cols, values, strict=True))), digest
    for key, level in withdrawn:
        yield formats.Item(key, "withdraw", level, {}), None


def batch_sizes(total: int, max_items: int | None = None) -> list[int]:
    """One batch with every change (none when nothing changed); in batches of at most ``max_items``
    only for a platform that accepts no more records in one file."""
    size = max_items or total
    return [min(size, total - at) for at in range(0, total, size)] if total else []


class _Hashed:
    """A file being written, with the SHA-256 and the size of what was written."""

    def __init__(self, fh):
        self.fh, self.sha256, self.size = fh, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self.size += len(data)
        self.fh.write(data)


def _read(changes_file, count: int) -> Iterator[tuple[formats.Item, str | None]]:
    for _ in range(count):
        yield pickle.load(changes_file)  # noqa: S301 - written by this run, just before, in its own spool


def _prepare(conn, platform: Platform, ds: Dataset, cols, changes_file, count: int, folder: Path) -> Batch:
    """The next ``count`` changes of ``changes_file`` as a batch file with its manifest in the
    spool ``folder``, recorded with its items before anything is sent (one transaction: the batch
    is there whole or not at all). The file and the items are written in one pass."""
    key = f"{platform.name}.{ds.name}.{uuid.uuid4().hex}"
    now = dt.datetime.now(TZ).replace(microsecond=0)
    meta = formats.Meta(platform.name, platform.title, ds.name, ds.title, key, tuple(cols), ds.headers, now,
                        platform.envelope)  # fmt: skip
    pid = conn.execute(
        "INSERT INTO ops.publications (platform, disclosure_level, period, dataset, idempotency_key, format,"
        " transport, row_count, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'prepared') RETURNING publication_id",
        (platform.name, platform.clearance, None, ds.name, key, platform.format, platform.transport, count),
    ).fetchone()[0]  # fmt: skip
    name = f"{ds.name}_{now:%Y%m%dT%H%M%S}_{pid:07d}.{formats.EXTENSIONS[platform.format]}"
    path, part = folder / name, folder / f".{name}.part"
    ups, levels = 0, set()
    with conn.cursor().copy("COPY ops.publication_batch_items (publication_id, item_key, action, disclosure_level,"
                            " content_sha256) FROM STDIN") as copy:  # fmt: skip

        def items():
            nonlocal ups
            for it, digest in _read(changes_file, count):
                copy.write_row((pid, it.key, it.action, it.level, digest))
                ups += it.action == "upsert"
                levels.add(it.level)
                yield it

        with open(part, "wb") as fh:
            out = _Hashed(fh)
            formats.write(platform.format, meta, items(), out, count)
    digest = out.sha256.hexdigest()
    part.replace(path)
    transport.write_atomically(folder / f"{name}.manifest.json",
                               formats.manifest_of(meta, platform.format, name, out.size, count, ups, levels, digest))
    conn.execute("UPDATE ops.publications SET upserts = %s, withdrawals = %s, file_sha256 = %s, output_path = %s,"
                 " manifest_path = %s WHERE publication_id = %s",
                 (ups, count - ups, digest, str(path), f"{path}.manifest.json", pid))  # fmt: skip
    conn.commit()
    return Batch(pid, platform.name, ds.name, key, ups, count - ups, path, sha256=digest)


def _deliver(conn, config: Config, platform: Platform, batch: Batch, outbox: Path, endpoints: dict,
             sleep, report: Report) -> None:  # fmt: skip
    report.batches.append(batch)
    digest = batch.sha256
    try:
        if platform.transport == "file":
            manifest = Path(f"{batch.path}.manifest.json").read_bytes()
            receipt, attempts = transport.drop_path(outbox / platform.name, batch.path, manifest), 1
        else:
            endpoint = endpoints.get(platform.name)
            if endpoint is None:
                raise transport.DeliveryFailed(f"no endpoint for {platform.name} (Airflow connection"
                                               f" {platform.connection!r} not found)", 0)  # fmt: skip
            receipt, attempts = transport.post(endpoint, batch.path.read_bytes(),
                                               content_type=formats.CONTENT_TYPES[platform.format],
                                               key=batch.idempotency_key, sha256=digest, retry=config.retry,
                                               sleep=sleep)  # fmt: skip
    except transport.DeliveryFailed as exc:
        batch.status, batch.attempts = "failed", exc.attempts
        conn.execute("UPDATE ops.publications SET status = 'failed', message = %s, attempts = attempts + %s,"
                     " sent_at = now() WHERE publication_id = %s",
                     (str(exc), exc.attempts, batch.publication_id))  # fmt: skip
        conn.commit()
        raise
    batch.status, batch.receipt, batch.attempts = "acknowledged", receipt, attempts
    pid, name = batch.publication_id, platform.name
    # The withdrawn keys are read first and looked up by the state's primary key. As a join, the plan
    # depended on statistics the fresh batch rows do not have yet, and could re-scan the batch
    # items once per state row (minutes per batch, deleting nothing).
    conn.execute(
        "DELETE FROM ops.publication_state WHERE platform = %s AND dataset = %s AND item_key = ANY (ARRAY("
        "SELECT item_key FROM ops.publication_batch_items WHERE publication_id = %s AND action = 'withdraw'))",
        (name, batch.dataset, pid),
    )
    conn.execute(
        "INSERT INTO ops.publication_state (platform, dataset, item_key, disclosure_level, content_sha256,"
        " publication_id, acknowledged_at) SELECT %s, %s, item_key, disclosure_level, content_sha256, publication_id,"
        " now() FROM ops.publication_batch_items WHERE publication_id = %s AND action = 'upsert'"
        " ON CONFLICT (platform, dataset, item_key) DO UPDATE SET disclosure_level = EXCLUDED.disclosure_level,"
        " content_sha256 = EXCLUDED.content_sha256, publication_id = EXCLUDED.publication_id,"
        " acknowledged_at = EXCLUDED.acknowledged_at",
        (name, batch.dataset, pid),
    )
    conn.execute("UPDATE ops.publications SET status = 'acknowledged', receipt = %s, attempts = attempts + %s,"
                 " sent_at = now(), acknowledged_at = now(), message = NULL WHERE publication_id = %s",
                 (receipt[:2000], attempts, pid))  # fmt: skip
    conn.commit()
    log.info("%s %s: +%d -%d acknowledged (%s)", name, batch.dataset, batch.upserts, batch.withdrawals, receipt)

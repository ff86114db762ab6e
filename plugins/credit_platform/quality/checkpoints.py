"""Run a stage's Great Expectations checkpoint against the warehouse and record the outcome.

Suites are code in the project's top-level ``expectations`` package: one module per stage, whose
``build(gx, **params)`` returns the validations of the stage's checkpoint, each a dict with a
``name``, a ``suite`` and either the ``table`` it checks (``schema.table``, a whole-table batch
definition) or a ``query`` (the rows of some load batches, say), and optionally the ``keys`` it
covers. A module may name ``INDEX_COLUMNS`` (identifying a failing row in the results) and a
``KEY_COLUMN`` among them: failures are then attributed to key values (load batches), from the
unexpected rows' index of a column expectation or from that column of a rule's rows.

Contexts are ephemeral: suites, checkpoints, data sources and results live in memory. A run that
failed (every run with ``CREDIT_DATA_DOCS=all``) writes its own Data Docs pages (validation results
and suites) into ``$CREDIT_LOCAL_DIR/docs/gx``, which ``make docs`` serves; each run is one row of
``ops.validation_runs``, linking its pages if it has any; the
site's ``index.html`` is written from that table (``write_index``), since GX's own index reads
every stored result on every build. On failure the exception that fails the Airflow task names
each failed expectation, the rows breaking it and a few of them.

A checkpoint fails closed: an expectation whose check could not run (its query failed, timed out
or was cancelled) counts as failed with the error as its reason, whatever Great Expectations made
of it, and a checkpoint that raised is recorded as a failed run with the error.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, render

log = logging.getLogger(__name__)

DOCS_SITE = "credit_platform"


class ValidationFailed(RuntimeError):
    pass


@dataclass
class Outcome:
    stage: str
    success: bool
    evaluated: int
    failed: list[dict]
    seconds: float = 0.0
    validation_run_id: int | None = None
    data_docs_url: str | None = None
    #: validation name -> {"keys", "success", "evaluated", "failed": [...], "data_docs_url"}
    validations: dict[str, dict] = field(default_factory=dict)

    def failures_of(self, key) -> list[dict]:
        """The failures that concern ``key``, each with the count and examples of that key alone.

        A failure that cannot be attributed (the check could not run, a table-wide expectation)
        concerns every key of its validation.
        """
        out = []
        for v in self.validations.values():
            if key not in (v["keys"] or ()):
                continue
            for f in v["failed"]:
                by_key = f.get("by_key")
                if by_key is None:
                    out.append(f)
                elif key in by_key:
                    out.append({**f, "unexpected_count": by_key[key]["count"],
                                "partial_unexpected_list": by_key[key]["examples"]})  # fmt: skip
        return out


def data_docs_mode() -> str:
    """``CREDIT_DATA_DOCS``: ``failed`` (the default) writes Data Docs pages for a run that failed or
    could not run, ``all`` for every run. A passing run is a row of ``ops.validation_runs`` and a line
    of the site's index either way; its pages would show each expectation as held, without an
    observed value (``BOOLEAN_ONLY``), and cost about half a second of every checkpoint."""
    value = os.environ.get("CREDIT_DATA_DOCS", "").strip().lower() or "failed"
    if value not in ("failed", "all"):
        raise ValueError(f"CREDIT_DATA_DOCS must be 'failed' or 'all', got {value!r}")
    return value


def data_docs_dir() -> Path:
    """Where the Data Docs site is written: the ``gx/`` folder of the site ``make docs`` serves."""
    return paths().local / "docs" / "gx"


def suite_module(stage: str):
    """The suite module of a stage: ``expectations.<stage>`` (the top-level ``expectations`` package)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", stage):
        raise ValueError(f"not a stage name: {stage!r}")
    try:
        return importlib.import_module(f"expectations.{stage}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("expectations", f"expectations.{stage}"):
            raise
        raise ValueError(f"no expectation suite module for stage {stage!r} (expectations/{stage}.py)") from exc


def _context(gx):
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(), progress_bars=ProgressBarsConfig(globally=False)
    )
    config.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    return gx.get_context(mode="ephemeral", project_config=config)


def _by_key(rows: list[dict], key: str | None) -> dict | None:
    """Rows (dicts) grouped by their ``key`` value: count (a rule's own ``rows`` column, else 1 each)
    and a few examples. None when the rows do not carry the key."""
    if not key or not rows or any(key not in row for row in rows):
        return None
    out: dict = {}
    for row in rows:
        entry = out.setdefault(row[key], {"count": 0, "examples": []})
        entry["count"] += int(row.get("rows") or 1)
        # (a batch record is no row of a file: its row_number is 0, left out)
        rest = {k: v for k, v in row.items() if k not in (key, "rows") and (k, v) != ("row_number", 0)}
        examples = rest.pop("examples", None)
        if examples is None:
            examples = [rest]
        elif not isinstance(examples, list):
            examples = [examples]
        entry["examples"] += examples[: 3 - len(entry["examples"])]
    return out


def _failure(r, key: str | None = None) -> dict:
    """One failed expectation as the task log and ops.validation_runs show it."""
    cfg = r.expectation_config
    res = r.result or {}
    if cfg.type == "unexpected_rows_expectation":  # a rule across tables: its rows, named by it
        kwargs = {"rule": cfg.description}
        count, sample = res.get("observed_value"), (res.get("details") or {}).get("unexpected_rows", [])
        by_key = _by_key(list(sample), key)
    else:
        kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
        if cfg.description:
            kwargs["rule"] = cfg.description
        count = res.get("unexpected_count", res.get("observed_value"))
        sample = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list", [])
        by_key = _by_key(res.get("unexpected_index_list") or [], key)
    messages = _errors(r)
    if messages:  # the check itself could not run: say why instead of a count
        count, sample, by_key = None, messages[:1], None
    return {"expectation": cfg.type, "kwargs": kwargs, "unexpected_count": count,
            "partial_unexpected_list": list(sample)[:5], "by_key": by_key, "error": bool(messages)}  # fmt: skip


def _errors(r) -> list[str]:
    """The messages of the exceptions an expectation's check raised (its query failed, timed out or was
    cancelled). GX records them in ``exception_info`` and may still mark the result a success."""
    info = r.exception_info or {}
    errors = [e for e in info.values() if isinstance(e, dict)] + [info]
    return [str(e.get("exception_message") or "the check raised an exception")
            for e in errors if e.get("raised_exception")]  # fmt: skip


def _failed(r) -> bool:
    """A result fails when GX says so or when its check could not run: a gate fails closed."""
    return not r.success or bool(_errors(r))


def describe(failure: dict) -> str:
    if failure.get("error"):
        return f"{failure['expectation']} {failure['kwargs']}: could not run: {failure['partial_unexpected_list']}"
    return (f"{failure['expectation']} {failure['kwargs']}: {failure['unexpected_count']} unexpected, e.g. "
            f"{failure['partial_unexpected_list']}")  # fmt: skip


def _site_relative(url: str | None) -> str | None:
    """``file:///…/docs/gx/validations/…html`` -> ``gx/validations/…html`` (relative to the docs site)."""
    if not url:
        return None
    root = data_docs_dir().as_uri()
    return "gx" + url[len(root) :] if url.startswith(root) else url


def run_checkpoint(url: str, stage: str, *, record: bool = True, raise_on_failure: bool = True,
                   data_docs: bool = True, **params) -> Outcome:  # fmt: skip
    """Validate the stage's tables at ``url`` (a role that may read them and write ops.validation_runs).

    ``params`` go to the stage module's ``build`` (the raw stage takes the load batches to check).
    """
    t0 = time.monotonic()
    docs_mode = data_docs_mode() if data_docs else None  # a wrong setting is refused before any work
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    module = suite_module(stage)
    context = _context(gx)
    source = context.data_sources.add_postgres(
        name="warehouse", connection_string=render(libpq_url(url), driver="postgresql+psycopg2")
    )
    definitions, keys = [], {}
    for check in module.build(gx, **params):
        name = check["name"]
        if "query" in check:
            asset = source.add_query_asset(name=name, query=check["query"])
        else:
            schema, table = check["table"].split(".")
            asset = source.add_table_asset(name=name, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("whole table")
        suite = context.suites.add(check["suite"])
        definition = gx.ValidationDefinition(name=f"{stage}:{name}", data=batch, suite=suite)
        definitions.append(context.validation_definitions.add(definition))
        keys[f"warehouse-{name}"] = (name, check.get("keys"))
    # First only whether each expectation holds (BOOLEAN_ONLY: one aggregate query per check). Only
    # when one does not (or could not run) is the checkpoint run again in COMPLETE, which returns a
    # rule's breaking rows (at most 200) and, for a column's expectation, two more queries each over
    # the rows checked, even when none breaks it: the details a failure is named by, paid for only then.
    details = {"result_format": "COMPLETE", "partial_unexpected_count": 5}
    if getattr(module, "INDEX_COLUMNS", None):
        details["unexpected_index_column_names"] = list(module.INDEX_COLUMNS)
    key_column = getattr(module, "KEY_COLUMN", None)
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"{stage}_checkpoint", validation_definitions=definitions,
                      result_format={"result_format": "BOOLEAN_ONLY"})  # fmt: skip
    )
    try:
        result = checkpoint.run()
        if not result.success or any(_failed(r) for vr in result.run_results.values() for r in vr.results):
            detailed = context.checkpoints.add(gx.Checkpoint(
                name=f"{stage}_checkpoint_details", validation_definitions=definitions, result_format=details))
            result = detailed.run()
    except Exception as exc:  # noqa: BLE001 - the checkpoint could not run: it fails, and says why
        return _could_not_run(url, stage, exc, [c for c in keys.values()], t0, record=record,
                              raise_on_failure=raise_on_failure)  # fmt: skip
    failed, evaluated, validations = [], 0, {}
    for identifier, vr in result.run_results.items():
        name, covered = keys.get(identifier.batch_identifier, (identifier.batch_identifier, None))
        own = [_failure(r, key_column) for r in vr.results if _failed(r)]
        for f in own:
            f["validation"] = name
        failed += own
        evaluated += len(vr.results)
        validations[name] = {"keys": covered, "success": bool(vr.success) and not own, "evaluated": len(vr.results),
                             "failed": own, "identifier": identifier}  # fmt: skip
    returned = dict(validations)
    for name, covered in keys.values():  # a validation GX returned no result for has not passed
        if name not in validations:
            missing = {**_error(stage, "no result returned for this validation"), "validation": name}
            failed.append(missing)
            validations[name] = {"keys": covered, "success": False, "evaluated": 0, "failed": [missing]}
    # Every validation must have run and passed: GX's own verdict is not enough on its own.
    success = bool(result.success) and not failed
    docs_url = None
    if docs_mode is not None and (not success or docs_mode == "all"):
        docs_url = _build_data_docs(context, returned)
    outcome = Outcome(stage, success, evaluated, failed, time.monotonic() - t0, None, docs_url,
                      {k: {x: y for x, y in v.items() if x != "identifier"} for k, v in validations.items()})
    if record:
        batch_ids = sorted({k for v in validations.values() for k in (v["keys"] or ()) if isinstance(k, int)}) or None
        pages = {k: v.get("data_docs_url") for k, v in outcome.validations.items()}
        with psycopg.connect(libpq_url(url)) as conn:
            outcome.validation_run_id = conn.execute(
                "INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed, details,"
                " batch_ids, seconds, data_docs_url) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING validation_run_id",
                (stage, f"{stage}_checkpoint", outcome.success, evaluated, len(failed),
                 json.dumps({"failed": failed, "data_docs_pages": pages}, ensure_ascii=False, default=str),
                 batch_ids, round(outcome.seconds, 3), docs_url),
            ).fetchone()[0]  # fmt: skip
            if data_docs:
                try:
                    write_index(conn)
                except OSError as exc:  # a report: the verdict stands without it
                    log.warning("Data Docs index not written: %s", exc)
    if not outcome.success and raise_on_failure:
        head = f"{stage} checkpoint failed {len(failed)} of {evaluated} expectations:\n"
        tail = f"\nData Docs: {docs_url} (make docs)" if docs_url else ""
        raise ValidationFailed(head + "\n".join(f"- {describe(f)}" for f in failed) + tail)
    log.info("%s checkpoint: %s of %s expectations passed in %.2f s", stage, evaluated - len(failed), evaluated,
             outcome.seconds)  # fmt: skip
    return outcome


def _error(stage: str, message: str) -> dict:
    """A failure that is no expectation's: the checkpoint (or one of its validations) did not run."""
    return {"expectation": "checkpoint", "kwargs": {"rule": f"{stage}_checkpoint"}, "unexpected_count": None,
            "partial_unexpected_list": [message], "by_key": None, "error": True}  # fmt: skip


def _could_not_run(url: str, stage: str, exc: Exception, checks: list[tuple], t0: float, *, record: bool,
                   raise_on_failure: bool) -> Outcome:  # fmt: skip
    """A checkpoint that raised (a query failed, timed out or was cancelled): a failed run, recorded
    with the error, which concerns every key of every validation."""
    message = f"{type(exc).__name__}: {exc}".strip()
    log.error("%s checkpoint could not run: %s", stage, message)
    failure = _error(stage, message)
    validations = {name: {"keys": covered, "success": False, "evaluated": 0,
                          "failed": [{**failure, "validation": name}]} for name, covered in checks}  # fmt: skip
    outcome = Outcome(stage, False, 0, [failure], time.monotonic() - t0, None, None, validations)
    if record:
        batch_ids = sorted({k for v in validations.values() for k in (v["keys"] or ()) if isinstance(k, int)}) or None
        with psycopg.connect(libpq_url(url)) as conn:
            outcome.validation_run_id = conn.execute(
                "INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed, details,"
                " batch_ids, seconds) VALUES (%s, %s, false, 0, 1, %s, %s, %s) RETURNING validation_run_id",
                (stage, f"{stage}_checkpoint", json.dumps({"failed": [failure]}, ensure_ascii=False, default=str),
                 batch_ids, round(outcome.seconds, 3)),
            ).fetchone()[0]  # fmt: skip
    if raise_on_failure:
        raise ValidationFailed(f"{stage} checkpoint could not run: {message}") from exc
    return outcome


def _build_data_docs(context, validations: dict) -> str | None:
    """Add this run's results to the Data Docs site; the page of the first failure (else the index).

    A site that cannot be written is logged, not fatal: the gate's verdict does not depend on it.
    """
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    identifiers = [v["identifier"] for v in validations.values()]
    suites = [ExpectationSuiteIdentifier(name=i.expectation_suite_identifier.name) for i in identifiers]
    try:  # this run's pages only: GX's own index reads every stored result (see write_index)
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=identifiers + suites, build_index=False)
    except Exception as exc:  # noqa: BLE001 - the docs are a report; the validation stands without them
        log.warning("Data Docs not written to %s: %s", data_docs_dir(), exc)
        return None
    first_failed = None
    for v in validations.values():
        urls = context.get_docs_sites_urls(resource_identifier=v["identifier"], site_name=DOCS_SITE,
                                           only_if_exists=False)  # fmt: skip
        v["data_docs_url"] = _site_relative(urls[0]["site_url"]) if urls else None
        if first_failed is None and not v["success"]:
            first_failed = v["data_docs_url"]
    return first_failed or "gx/index.html"


def write_index(conn, limit: int = 500) -> Path | None:
    """The Data Docs site's ``index.html``: the latest validation runs, each with its pages.

    Written from ``ops.validation_runs`` (any role that reads it), replacing the file atomically.
    """
    import html

    site = data_docs_dir()
    site.mkdir(parents=True, exist_ok=True)  # no page may have been written yet: passing runs write none
    rows = conn.execute(
        "SELECT validation_run_id, stage, success, evaluated, failed, seconds, validated_at, batch_ids,"
        " details -> 'data_docs_pages' FROM ops.validation_runs ORDER BY validation_run_id DESC LIMIT %s",
        (limit,)).fetchall()  # fmt: skip
    items = []
    for run_id, stage, ok, evaluated, failed, seconds, at, batches, pages in rows:
        links = " ".join(f'<a href="{html.escape(str(href).removeprefix("gx/"))}">{html.escape(k)}</a>'
                         for k, href in sorted((pages or {}).items()) if href)  # fmt: skip
        scope = ""
        if batches:
            scope = "batches " + ", ".join(map(str, batches[:12])) + (" …" if len(batches) > 12 else "")
        status = "passed" if ok else "<b>FAILED</b>"
        timing = f", {seconds:.2f} s" if seconds is not None else ""
        items.append(f"<tr><td>{run_id}</td><td>{at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(stage)}</td>"
                     f"<td>{status}</td><td>{evaluated - failed}/{evaluated}{timing}</td>"
                     f"<td>{html.escape(scope)}</td><td>{links}</td></tr>")  # fmt: skip
    body = "\n".join(items) or '<tr><td colspan="7">no validation run yet</td></tr>'
    style = "body{font-family:sans-serif;margin:2em}td,th{padding:.2em .6em;border-bottom:1px solid #ddd}"
    text = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>数据质量校验 Data quality checks</title>
<style>{style}</style></head><body>
<h1>数据质量校验 Data quality checks (Great Expectations)</h1>
<p>The latest {len(rows)} checkpoint runs (ops.validation_runs), newest first: raw (load batches, before
grading), marts (grades, before publication), drift (class shares against the previous period). Each link
opens a validation result in Great Expectations' Data Docs.</p>
<table><tr><th>run</th><th>validated</th><th>stage</th><th>result</th><th>expectations met</th><th>scope</th>
<th>Data Docs pages</th></tr>
{body}
</table></body></html>
"""
    part = site / f".index.html.{os.getpid()}.part"  # several tasks may write at once
    part.write_text(text, encoding="utf-8")
    part.replace(site / "index.html")
    return site / "index.html"

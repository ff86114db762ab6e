"""Run a stage's Great Expectations checkpoint against the warehouse and record the outcome.

Suites are code in the project's ``expectations/`` folder (one module per stage, each with a
``build(gx)`` that returns the suite and the table it checks). Contexts are ephemeral: nothing is
written to disk; the outcome goes to ``ops.validation_runs`` and, on failure, into the exception
that fails the Airflow task.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass

import psycopg

from credit_platform.settings import paths
from credit_platform.warehouse.roles import libpq_url, render

log = logging.getLogger(__name__)


class ValidationFailed(RuntimeError):
    pass


@dataclass
class Outcome:
    stage: str
    success: bool
    evaluated: int
    failed: list[dict]


def _suite_module(stage: str):
    path = paths().root / "expectations" / f"{stage}.py"
    if not path.exists():
        raise ValueError(f"no expectation suite module for stage {stage!r} ({path})")
    spec = importlib.util.spec_from_file_location(f"credit_expectations_{stage}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_checkpoint(url: str, stage: str, *, record: bool = True, raise_on_failure: bool = True) -> Outcome:
    """Validate the stage's tables at ``url`` (a role that may read them and write ops.validation_runs)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    module = _suite_module(stage)
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_postgres(
        name="warehouse", connection_string=render(libpq_url(url), driver="postgresql+psycopg2")
    )
    definitions = []
    for schema, table, suite in module.build(gx):
        asset = source.add_table_asset(name=f"{schema}.{table}", table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("whole table")
        suite = context.suites.add(suite)
        definition = gx.ValidationDefinition(name=f"{stage}:{table}", data=batch, suite=suite)
        definitions.append(context.validation_definitions.add(definition))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"{stage}_checkpoint", validation_definitions=definitions, result_format="SUMMARY")
    )
    result = checkpoint.run()
    failed, evaluated = [], 0
    for vr in result.run_results.values():
        for r in vr.results:
            evaluated += 1
            if not r.success:
                cfg = r.expectation_config
                res = r.result or {}
                if cfg.type == "unexpected_rows_expectation":  # a rule across tables: its rows, named by it
                    kwargs = {"rule": cfg.description}
                    count, sample = res.get("observed_value"), (res.get("details") or {}).get("unexpected_rows", [])
                else:
                    kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
                    count, sample = res.get("unexpected_count"), res.get("partial_unexpected_list", [])
                info = r.exception_info or {}
                errors = [e for e in info.values() if isinstance(e, dict)] + [info]
                messages = [e.get("exception_message") for e in errors if e.get("raised_exception")]
                if messages:  # the check itself could not run: say why instead of a count
                    count, sample = None, messages[:1]
                failed.append({"expectation": cfg.type, "kwargs": kwargs, "unexpected_count": count,
                               "partial_unexpected_list": list(sample)[:5]})  # fmt: skip
    outcome = Outcome(stage, bool(result.success), evaluated, failed)
    if record:
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute(
                "INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed, details)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (stage, f"{stage}_checkpoint", outcome.success, evaluated, len(failed),
                 json.dumps({"failed": failed}, ensure_ascii=False, default=str)),
            )  # fmt: skip
    if not outcome.success and raise_on_failure:
        lines = [f"- {f['expectation']} {f['kwargs']}: {f['unexpected_count']} unexpected, e.g. "
                 f"{f['partial_unexpected_list']}" for f in failed]  # fmt: skip
        head = f"{stage} checkpoint failed {len(failed)} of {evaluated} expectations:\n"
        raise ValidationFailed(head + "\n".join(lines))
    log.info("%s checkpoint passed %s expectations", stage, evaluated)
    return outcome

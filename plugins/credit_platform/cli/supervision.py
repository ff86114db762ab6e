"""Supervision commands: ``measure record`` (信用监管执行信息, one record at a time)."""

from __future__ import annotations

import argparse
import datetime as dt

from credit_platform.cli.common import say, setup_warehouse


def cmd_measure_record(args: argparse.Namespace) -> int:
    """Check a measure applied against the measures in force, then load it through the inbox."""
    from credit_platform.ingest.loader import load_files
    from credit_platform.settings import paths
    from credit_platform.supervision import records
    from credit_platform.warehouse.urls import libpq_url, url_for

    try:
        applied = dt.date.fromisoformat(args.date)
    except ValueError:
        say(f"已拒绝，未记录 / REFUSED, not recorded: 执行日期应为 YYYY-MM-DD / the date applied must be"
            f" YYYY-MM-DD, not {args.date!r}")  # fmt: skip
        return 2
    admin = setup_warehouse()
    try:
        e = records.normalised(records.Execution(
            args.department, args.uscc, args.measure, applied, args.by or "",
            args.document or "", args.note or "", args.name or ""))  # fmt: skip
        measure = records.check_applies(libpq_url(url_for("analyst", admin)), e)
    except records.NotApplicable as exc:
        say(f"已拒绝，未记录 / REFUSED, not recorded: {exc}")
        return 1
    except ValueError as exc:
        say(f"已拒绝，未记录 / REFUSED, not recorded: {exc}")
        return 2
    inbox = paths().inbox
    rel = records.write_file(inbox, e, measure["measure_name"])
    results, failures = load_files(libpq_url(url_for("loader", admin)), [rel], inbox=inbox)
    for failure in failures:
        say(f"无法装载 / FAILED, not loaded: {failure}")
    if failures or not results or results[0].rows_loaded != 1:
        return 2
    say(f"已记录 / recorded: {e.department_code} {e.uscc} {e.measure_code} {measure['measure_name']}"
        f" on {e.applied_date} ({rel}, batch {results[0].batch_id}); it counts in marts.fct_measure_execution"
        " from the next grading run")  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("measure", help="supervision measures: record one applied (信用监管执行信息)")
    msub = m.add_subparsers(dest="measure_command", required=True, metavar="COMMAND")
    r = msub.add_parser("record", help="record a measure applied to a subject, after checking that it applied that day")
    r.add_argument("--department", required=True, help="the department's code (seed departments), e.g. scjgj")
    r.add_argument("--uscc", required=True, help="统一社会信用代码 of the subject")
    r.add_argument("--measure", required=True, help="措施代码 from the department's measures list, e.g. SCJGJ-FOOD-D01")
    r.add_argument("--date", required=True, help="执行日期 YYYY-MM-DD (not in the future)")
    r.add_argument("--by", help="执行单位 (the unit that applied it)")
    r.add_argument("--document", help="执行文书号")
    r.add_argument("--note", help="执行情况")
    r.add_argument("--name", help="主体名称 as the department writes it")
    m.set_defaults(func=cmd_measure)


def cmd_measure(args: argparse.Namespace) -> int:
    return {"record": cmd_measure_record}[args.measure_command](args)

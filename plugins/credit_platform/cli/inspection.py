"""Inspection commands: ``verify-draw PLAN_ID`` and ``overdue-results``."""

from __future__ import annotations

import argparse
from pathlib import Path

from credit_platform.cli.common import say, setup_warehouse


def cmd_verify_draw(args: argparse.Namespace) -> int:
    """Recompute a past draw from the warehouse (as the analyst) and compare it with the stored tasks."""
    import json

    from credit_platform.inspection import draw as inspection
    from credit_platform.warehouse.urls import url_for

    url = url_for("analyst", setup_warehouse())
    try:
        record = inspection.audit_record(url, args.plan_id)
    except LookupError as exc:
        say(str(exc))
        return 2
    if args.export:
        Path(args.export).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        say(f"wrote {args.export}: check it with plugins/credit_platform/inspection/reference/verify_draw.py")
    problems = inspection.verify_record(record)
    for p in problems:
        say(f"MISMATCH {p}")
    say(f"{args.plan_id}: {'MATCH' if not problems else 'MISMATCH'} ({record['algorithm_version']})")
    return 1 if problems else 0


def cmd_overdue_results(args: argparse.Namespace) -> int:
    """List the returned results of public plans not acknowledged by the city platform in time (as the analyst)."""
    import datetime as dt

    from credit_platform.inspection import lists as inspection_lists
    from credit_platform.publish.config import load
    from credit_platform.warehouse.urls import libpq_url, url_for

    today = dt.date.fromisoformat(args.today) if args.today else None
    late = inspection_lists.overdue(libpq_url(url_for("analyst", setup_warehouse())), today=today)
    columns = load().export_headers("overdue_results")  # field of Overdue -> header
    print("\t".join(columns.values()))
    for o in late:
        print("\t".join(str(getattr(o, c)) for c in columns))
    say(f"{len(late)} inspection result(s) past their publication deadline")
    return 1 if late else 0


def register(sub: argparse._SubParsersAction) -> None:
    vd = sub.add_parser("verify-draw", help="recompute a past inspection draw and say whether it matches")
    vd.add_argument("plan_id", help="e.g. 2025-H2-scjgj-scjgj-food-01: <round>-<department>-<matter>"
                                    " (ops.inspection_plans)")
    vd.add_argument("--export", help="also write the plan, populations and draw as JSON for the reference script")
    vd.set_defaults(func=cmd_verify_draw)
    od = sub.add_parser("overdue-results", help="inspection results past their publication deadline (一公开)")
    od.add_argument("--today", help="count the deadline up to this day (YYYY-MM-DD; default today)")
    od.set_defaults(func=cmd_overdue_results)

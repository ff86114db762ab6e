"""Inspection commands: ``announce-draw ROUND``, ``record-draw-value ROUND VALUE``, ``draw-kits ROUND``,
``verify-draw PLAN_ID`` and ``overdue-results``."""

from __future__ import annotations

import argparse
from pathlib import Path

from credit_platform.cli.common import say, setup_warehouse

DRAW_TIME_ZONE = "Asia/Shanghai"  # a draw time given without a zone is the city's


def parse_draw_time(text: str):
    """``2026-12-02 10:00`` (the city's time, Asia/Shanghai) or with its zone (``...T10:00+08:00``)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromisoformat(text.strip())
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(DRAW_TIME_ZONE))


def _show(a) -> None:
    print(f"抽查批次 round:           {a.draw_round}")
    print(f"随机值来源 value source:  {a.value_source}")
    print(f"抽取时间 draw at:         {a.draw_at.isoformat()}")
    print(f"公告时间 announced at:    {a.announced_at.isoformat()}")
    if a.announced_value is None:
        print("公布值 value:             (尚未录入 / not recorded yet)")
    else:
        print(f"公布值 value:             {a.announced_value} (录入 recorded {a.value_recorded_at.isoformat()})")


def _step(take, next_step) -> int:
    """Take one step of an announcement; show the round and what to do next, or the refusal (exit 1)."""
    from credit_platform.inspection.draw import DrawError

    try:
        a = take()
    except DrawError as exc:
        say(str(exc))
        return 1
    _show(a)
    say(next_step(a))
    return 0


def cmd_announce_draw(args: argparse.Namespace) -> int:
    """Announce a round before it is drawn (as the publisher): its draw time and the value's public source."""
    from credit_platform.inspection import announcements
    from credit_platform.warehouse.urls import url_for

    try:
        when = parse_draw_time(args.draw_at)
    except ValueError:
        say(f"--draw-at {args.draw_at!r}: 不是日期时间，例如 2026-12-02 10:00 / not a date and time, e.g."
            " 2026-12-02 10:00 (Asia/Shanghai) or 2026-12-02T10:00+08:00")  # fmt: skip
        return 2
    return _step(lambda: announcements.announce(url_for("publisher", setup_warehouse()), args.round, args.source,
                                                 when),
                 lambda a: "已公告；开奖后请录入公布值 / announced; once the source has published the value,"
                           f" record it: credit-platform record-draw-value {a.draw_round} VALUE")  # fmt: skip


def cmd_record_draw_value(args: argparse.Namespace) -> int:
    """Record the value the announced source published for a round (as the publisher)."""
    from credit_platform.inspection import announcements
    from credit_platform.warehouse.urls import url_for

    return _step(lambda: announcements.record_value(url_for("publisher", setup_warehouse()), args.round, args.value),
                 lambda a: f"已录入；抽取时间 {a.draw_at.isoformat()} 之后可抽取"
                           f" / recorded; the round may be drawn from {a.draw_at.isoformat()}"
                           " (the draw_inspections DAG, parameter draw_round)")  # fmt: skip


def cmd_draw_kits(args: argparse.Namespace) -> int:
    """Write the verification kit of each public plan of a round (as the analyst)."""
    from credit_platform.inspection import kits
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import url_for

    outbox = Path(args.outbox) if args.outbox else paths().outbox
    written = kits.write(url_for("analyst", setup_warehouse()), outbox, args.round)
    for k in written:
        print(f"{k.path}\t{k.status}\t{k.masked} masked")
    say(f"抽查批次 {args.round} 的验证包 {len(written)} 个，在 {kits.kit_dir(outbox, args.round)} / {len(written)}"
        f" verification kit(s) of round {args.round} (public credit-draw-3 plans) in that folder; check them with"
        " plugins/credit_platform/inspection/reference/verify_draw.py KIT_OR_FOLDER")  # fmt: skip
    return 0 if written else 1


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
    ad = sub.add_parser("announce-draw", help="announce a draw round before it is drawn (抽查公告): draw time and"
                                              " the public source of its value")  # fmt: skip
    ad.add_argument("round", help="抽查批次, e.g. 2026-H2 (the draw DAG's draw_round; default there: the period)")
    ad.add_argument("--source", required=True, help="the value's public source, a named draw on a named date,"
                                                   " e.g. \"福彩3D 第2026320期开奖号码, 2026-12-01\"")  # fmt: skip
    ad.add_argument("--draw-at", required=True, help="when the round will be drawn, e.g. \"2026-12-02 10:00\""
                                                    " (Asia/Shanghai unless a zone is given); after now")  # fmt: skip
    ad.set_defaults(func=cmd_announce_draw)
    rv = sub.add_parser("record-draw-value", help="record the value the announced source published for a round")
    rv.add_argument("round", help="抽查批次, as announced")
    rv.add_argument("value", help="the value as published, e.g. \"3 7 1\"")
    rv.set_defaults(func=cmd_record_draw_value)
    dk = sub.add_parser("draw-kits", help="write the verification kit of each public plan of a round (验证包)")
    dk.add_argument("round", help="抽查批次")
    dk.add_argument("--outbox", help="folder to write into (default $CREDIT_OUTBOX): <outbox>/inspections/<round>/")
    dk.set_defaults(func=cmd_draw_kits)
    vd = sub.add_parser("verify-draw", help="recompute a past inspection draw and say whether it matches")
    vd.add_argument("plan_id", help="e.g. 2025-H2-scjgj-scjgj-food-01: <round>-<department>-<matter>"
                                    " (ops.inspection_plans)")
    vd.add_argument("--export", help="also write the plan, populations and draw as JSON for the reference script")
    vd.set_defaults(func=cmd_verify_draw)
    od = sub.add_parser("overdue-results", help="inspection results past their publication deadline (一公开)")
    od.add_argument("--today", help="count the deadline up to this day (YYYY-MM-DD; default today)")
    od.set_defaults(func=cmd_overdue_results)

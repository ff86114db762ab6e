"""Grading commands: ``dbt``, ``what-if``, ``explain``, ``close-period``, ``regrade``, ``rebuild`` and
``release``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from credit_platform.cli.common import say, setup_warehouse


def cmd_what_if(args: argparse.Namespace) -> int:
    from credit_platform.grading import whatif
    from credit_platform.warehouse.urls import admin_url

    outcome = whatif.run(admin_url(), Path(args.catalogue), period=args.period, keep=args.keep,
                         out=Path(args.out).resolve() if args.out else None)  # fmt: skip
    print(whatif.render_text(outcome))
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import run_dbt

    return run_dbt(args.rest or ["debug"]).returncode


def cmd_explain(args: argparse.Namespace) -> int:
    import psycopg

    from credit_platform.grading.explain import InvalidCode, NotGraded, check_code, gather, render

    try:
        code = check_code(args.uscc)
    except InvalidCode as exc:
        say(f"无法说明 / CANNOT EXPLAIN: {exc}")
        return 1
    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    try:
        # the transformer reads marts and the raw rows and load batches they name
        grades = gather(libpq_url(url_for("transformer", admin_url())), code, industry=args.industry,
                        period=args.period)  # fmt: skip
    except NotGraded as exc:
        say(f"无法说明 / CANNOT EXPLAIN: {exc}")
        return 1
    except psycopg.errors.UndefinedTable:
        say("无法说明 / CANNOT EXPLAIN: 数据仓库尚无评价结果，请先运行评价（make demo 或 grade_industries DAG）/"
            " the warehouse holds no grades yet: run the grading first (make demo, or the grade_industries DAG)")
        return 1
    if args.format == "json":
        print(json.dumps(grades, ensure_ascii=False, indent=2, default=str))
    else:
        print(render(grades))
    return 0


def cmd_close_period(args: argparse.Namespace) -> int:
    from credit_platform.grading.periods import PeriodError, close_period

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        c = close_period(libpq_url(admin_url()), args.period, requested_by=args.by, **(
            {"reason": args.reason} if args.reason else {}))  # fmt: skip
    except PeriodError as exc:
        say(f"not closed: {exc}")
        return 1
    say(f"{c.evaluation_period} closed at {c.cutoff_at:%Y-%m-%d %H:%M:%S %Z} under rule version {c.rule_version}:"
         " batches loaded from now on are late for it (marts.fct_late_records)")  # fmt: skip
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.grading.periods import PeriodError, regrade

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        c = regrade(libpq_url(admin_url()), args.period, requested_by=args.by, reason=args.reason,
                    rule_version=args.rule_version)  # fmt: skip
    except PeriodError as exc:
        say(f"not re-graded: {exc}")
        return 1
    say(f"re-grading {c.evaluation_period} (recorded in ops.period_closures): data until"
         f" {c.cutoff_at:%Y-%m-%d %H:%M:%S %Z}, rule version {c.rule_version}")  # fmt: skip
    if args.no_build:
        return 0
    return run_dbt(["build"]).returncode


def cmd_rebuild(args: argparse.Namespace) -> int:
    from credit_platform.grading.periods import PeriodError, rebuild

    if not args.yes:
        say("rebuild empties raw and drops every table of staging, intermediate and marts, then lands every"
             " archived batch again and runs dbt; say --yes to go on")  # fmt: skip
        return 2
    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        r = rebuild(libpq_url(admin_url()))
    except PeriodError as exc:
        say(f"rebuild failed: {exc}")
        return 1
    say(f"rebuilt from the archive: {r.batches} batches, {r.rows_loaded} rows loaded, {r.rows_rejected} rejected;"
         f" reset {r.seconds_reset:.1f} s, landing {r.seconds_landing:.1f} s, dbt {r.seconds_dbt:.1f} s")  # fmt: skip
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from credit_platform.quality.drift import release

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        approval = release(libpq_url(admin_url()), args.period, reason=args.reason, approved_by=args.by)
    except ValueError as exc:
        say(f"not released: {exc}")
        return 1
    say(f"{args.period} released for publication (ops.publication_approvals #{approval}); run publish_grades")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    wi = sub.add_parser("what-if", help="grade with a proposed indicator catalogue in scratch schemas and compare")
    wi.add_argument("catalogue", help="a CSV with the columns of dbt_project/seeds/indicator_catalogue.csv")
    wi.add_argument("--period", help="evaluation period to compare (default: the latest graded)")
    wi.add_argument("--out", help="CSV of the subjects whose class changes"
                    " (default: .local/whatif/changed_subjects_<period>.csv)")  # fmt: skip
    wi.add_argument("--keep", action="store_true",
                    help="keep the whatif_* schemas for querying (replaced by the next run)")  # fmt: skip
    wi.set_defaults(func=cmd_what_if)
    d = sub.add_parser("dbt", help="run dbt as the transformer role")
    d.add_argument("rest", nargs=argparse.REMAINDER, help="dbt arguments, e.g. build --select marts")
    d.set_defaults(func=cmd_dbt)
    ex = sub.add_parser("explain", help="why a subject has its grades: every indicator, rule and record behind them")
    ex.add_argument("uscc")
    ex.add_argument("--industry", help="one industry (default: every industry it is graded in)")
    ex.add_argument("--period", help="the evaluation period (default: the latest)")
    ex.add_argument("--format", choices=["text", "json"], default="text",
                    help="text (default) or JSON: one object per grade, dates YYYY-MM-DD")  # fmt: skip
    ex.set_defaults(func=cmd_explain)
    cp = sub.add_parser("close-period", help="close an ended evaluation period: its grades keep the data loaded so far")
    cp.add_argument("period")
    cp.add_argument("--by", required=True, help="who closes it (kept in ops.period_closures)")
    cp.add_argument("--reason", help="why (default: the period ended)")
    cp.set_defaults(func=cmd_close_period)
    rg = sub.add_parser("regrade", help="re-grade a closed period with the records that arrived late (logged)")
    rg.add_argument("period")
    rg.add_argument("--reason", required=True)
    rg.add_argument("--by", required=True, help="who asks for it")
    rg.add_argument("--rule-version", help="grade under another rule version (default: the one it was closed with)")
    rg.add_argument("--no-build", action="store_true",
                    help="record the re-grading only; the next grading run applies it")
    rg.set_defaults(func=cmd_regrade)
    rb = sub.add_parser("rebuild",
                        help="rebuild raw through marts from $CREDIT_ARCHIVE alone (closed periods reproduce)")
    rb.add_argument("--yes", action="store_true", help="really empty raw and drop the dbt tables first")
    rb.set_defaults(func=cmd_rebuild)
    rl = sub.add_parser("release", help="release a period whose grades drifted beyond the PSI threshold (logged)")
    rl.add_argument("period")
    rl.add_argument("--reason", required=True)
    rl.add_argument("--by", required=True, help="who releases it")
    rl.set_defaults(func=cmd_release)

"""The ``credit-platform`` command line.

    credit-platform warehouse start      start the embedded server if needed, apply migrations
    credit-platform warehouse url        print the administrator URL, password included (--role for a component's)
    credit-platform warehouse psql       open psql (--role to connect as a component)
    credit-platform warehouse migrate    apply pending migrations (--status to list them only)
    credit-platform warehouse status     say where the warehouse is and whether it is current
    credit-platform warehouse stop       stop the embedded server
    credit-platform warehouse recipient add|remove NAME   manage authorised recipients
    credit-platform warehouse recipient authorise NAME USCC...   subjects that authorised a recipient
    credit-platform warehouse rotate [COMPONENT...]   give the component roles new passwords
    credit-platform airflow start|stop|status|env         the local Airflow 3 services
    credit-platform health               run the platform health checks as each role
    credit-platform check FILE...        check files before sending them (every problem, row and column)
    credit-platform what-if CATALOGUE    grade with a proposed indicator catalogue in scratch schemas, compare
    credit-platform dbt ARGS...          run dbt as the transformer role (e.g. dbt debug)
    credit-platform generate             write the demo city's files into the inbox
    credit-platform load PATH...         load inbox files into raw by hand (--again: once more after a quarantine)
    credit-platform demo                 generate, run the whole DAG chain, print the summary
    credit-platform summary              the summary of what the chain produced
    credit-platform docs                 build the dbt docs site and serve it (--no-serve: build only)
    credit-platform bench                the whole chain at BENCH_SCALE subjects against its limits (make bench)
    credit-platform publish              publish to the file-drop platforms, write the departments' workbooks
    credit-platform announce-draw ROUND  announce a draw before it is made (--source, --draw-at; 抽查公告)
    credit-platform record-draw-value ROUND VALUE   the value the announced source published
    credit-platform draw-kits ROUND      write the verification kit of each public plan of a round
    credit-platform verify-draw PLAN_ID  recompute a past inspection draw and say whether it matches
    credit-platform overdue-results      inspection results past their publication deadline (一公开)
    credit-platform measure record       record a supervision measure applied (信用监管执行信息), checked first
    credit-platform measure list         the measures to record as applied, deadline and status (--overdue)
    credit-platform commitments letters  a department's credit commitment letters (信用承诺书), HTML and PDF
    credit-platform objection file|decide|list|history   objections (异议), their steps and reply deadlines
    credit-platform repair file|decide|list|history      repair applications (信用修复申请), the same way
    credit-platform letter USCC          a grade's explanation letter (信用评价说明书), HTML and PDF (--changed: all)
    credit-platform stop                 stop Airflow and the embedded server

Messages go to standard error; standard output carries only what a command is asked to print
(a URL, shell exports), so ``$(credit-platform warehouse url)`` works.

Each command group lives in its own module and registers its commands with ``register(subparsers)``:
``warehouse`` (warehouse, health), ``ingest`` (check, load), ``grading`` (what-if, dbt, explain,
close-period, regrade, rebuild, release), ``inspection`` (announce-draw, record-draw-value,
draw-kits, verify-draw, overdue-results),
``supervision`` (measure record, measure list, commitments letters), ``redress`` (objection, repair, letter),
``publish`` and ``local`` (airflow, generate,
demo, summary, bench, docs, stop); ``common`` holds what they share.
Heavy imports stay inside the handlers: importing this package loads no database driver, dbt or Airflow.
"""

from __future__ import annotations

import argparse
import logging
import sys

from credit_platform.cli import grading, ingest, inspection, local, publish, redress, supervision, warehouse
from credit_platform.cli.common import say

GROUPS = (warehouse, ingest, grading, inspection, supervision, redress, publish, local)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="credit-platform",
        description="Credit grading platform (信用分级分类监管): warehouse, Airflow and checks.\n\n"
        + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


def _psql_passthrough(argv: list[str]) -> list[str]:
    """``warehouse psql [--role R] ARGS...``: psql's own options (``-c``, ``-f``, ...) pass through as
    they are; argparse would take ``-c`` for an option of ours, so a ``--`` goes before the first
    argument that is not the command's own (``cmd_warehouse`` drops it)."""
    if argv[:2] != ["warehouse", "psql"]:
        return argv
    i = 2
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--role":
            i += 2
        elif argv[i].startswith("--role=") or argv[i] in ("-h", "--help"):
            i += 1
        else:
            return [*argv[:i], "--", *argv[i:]]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_psql_passthrough(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    import psycopg

    try:
        return args.func(args)
    except (RuntimeError, ValueError, OSError, psycopg.Error) as exc:
        say(f"error: {str(exc).strip()}")
        return 1

"""``credit-platform check FILE...`` and ``credit-platform load PATH...``: files before they are sent,
and inbox files loaded into raw by hand."""

from __future__ import annotations

import argparse
from pathlib import Path

from credit_platform.cli.common import say


def cmd_check_file(args: argparse.Namespace) -> int:
    import json

    from credit_platform.ingest.check import check_file, render_text
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    url = libpq_url(url_for("loader", admin_url()))
    reports, worst = [], 0
    for i, file in enumerate(args.files):  # every file is checked, an unreadable one included
        report, status = check_file(url, Path(file), kind=args.kind, department=args.department)
        reports.append(report)
        worst = max(worst, status)
        if args.format == "text":
            print(("\n" if i else "") + render_text(report), flush=True)
    if args.format == "json":  # one file: its report; several: the list of them
        print(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False, indent=1))
    return worst


def cmd_load(args: argparse.Namespace) -> int:
    from credit_platform.ingest.loader import discover, load_files
    from credit_platform.receipts.write import last_batch, write_since_logged
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    if args.again and not args.paths:
        say("--again loads the files you name (those quarantined before, now mended): name them")
        return 2
    url = libpq_url(url_for("loader", admin_url()))
    inbox = paths().inbox
    files, refused = _inbox_paths(args.paths or discover(inbox), inbox)
    after = last_batch(url)
    # Batches an earlier load left landed (stopped before its gate decided) are gated too.
    results, failures = load_files(url, files, inbox=inbox, finish="", again=args.again)
    for receipt in write_since_logged(url, after, paths().outbox):
        say(f"回执 receipt: {receipt.path}")
    for r in results:
        say(f"{r.file}: {r.status}, {r.rows_in} read, {r.rows_loaded} loaded, {r.rows_rejected} rejected"
             + (f" {r.rejected_by_reason}" if r.rejected_by_reason else "")
             + (f", {r.rows_not_returned} not yet returned (尚未回填)" if r.rows_not_returned else ""))  # fmt: skip
    for reason in refused:
        say(f"已拒绝，未读取 / REFUSED, not read: {reason}")
    code = _report_load_failures(results, failures)
    return 2 if refused else code


def _inbox_paths(given: list[str], inbox: Path) -> tuple[list[str], list[str]]:
    """The inbox-relative paths to load, and the reasons for those refused (links, paths outside the inbox)."""
    from credit_platform.ingest.inbox import RefusedPath, check_in_inbox, relative_in_inbox

    files, refused = [], []
    for path in given:
        try:
            files.append(check_in_inbox(inbox, path))
        except RefusedPath as exc:
            refused.append(str(exc))
        except FileNotFoundError:
            files.append(relative_in_inbox(inbox, path))  # the loader says it is not there
    return files, refused


def _report_load_failures(results: list, failures: list[str]) -> int:
    """Each failure in Chinese and English; exit 2 when a file could not be read, 1 when one was quarantined."""
    quarantined = {r.quarantine_reason for r in results if r.status == "quarantined"}
    unreadable = [f for f in failures if f not in quarantined]
    for failure in unreadable:
        say(f"无法读取，未装载 / FAILED, not loaded: {failure}\n"
             "  请修正或重新导出该文件后再装载 / correct or export the file again, then load it again")  # fmt: skip
    for reason in sorted(quarantined):
        say(f"已隔离，不参与评价 / QUARANTINED, not graded: {reason}")
    return 2 if unreadable else 1 if quarantined else 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("check", help="check files before sending them: each problem with its row and column")
    c.add_argument("files", nargs="+", metavar="FILE", help="one or more files; the exit status is the worst of them")
    c.add_argument("--kind", help="the source (e.g. penalty, province_evaluation); guessed from the file name")
    c.add_argument("--department", help="department code (default: from a departments/<code>/ folder)")
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.set_defaults(func=cmd_check_file)
    ld = sub.add_parser("load", help="load inbox files into raw by hand, as the loader role")
    ld.add_argument("paths", nargs="*", help="inbox-relative or absolute paths (default: every file in the inbox)")
    ld.add_argument("--again", action="store_true",
                    help="load named files whose same bytes were quarantined before (the cause since mended)")
    ld.set_defaults(func=cmd_load)

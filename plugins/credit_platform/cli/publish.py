"""``credit-platform publish``: publication by hand."""

from __future__ import annotations

import argparse

from credit_platform.cli.common import say, setup_warehouse


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish by hand, as the publisher: the file-drop platforms and the departments' workbooks."""
    import datetime as dt

    from credit_platform.publish import PublicationBlocked, PublicationFailed, publish, workbooks
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url, url_for

    url = url_for("publisher", setup_warehouse())
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    try:
        report = publish(url, as_of=as_of)
    except PublicationBlocked as exc:
        say(f"nothing published: {exc}")
        return 1
    except PublicationFailed as exc:
        say(str(exc))
        return 1
    say(report.summary())
    for wb in workbooks.write(libpq_url(url), paths().outbox):
        say(f"  department {wb.department_code:6} {wb.rows:>6} rows {wb.status}: {wb.path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    pb = sub.add_parser("publish", help="publish to the file-drop platforms and write the departments' workbooks")
    pb.add_argument("--as-of", help="the day whose publication windows apply (YYYY-MM-DD; default today)")
    pb.set_defaults(func=cmd_publish)

"""Supervision commands: ``measure record`` (信用监管执行信息, one record at a time), ``measure list``
(the measures to record and where each stands) and ``commitments letters`` (信用承诺书 for a
department's supervised subjects)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

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


def cmd_measure_list(args: argparse.Namespace) -> int:
    """The measures to record as applied (marts.fct_measure_execution), as the analyst: where each stood
    on the day of the last grading run."""
    import json

    import psycopg

    from credit_platform.warehouse.urls import libpq_url, url_for

    with psycopg.connect(libpq_url(url_for("analyst", setup_warehouse()))) as conn:
        cur = conn.execute(
            "SELECT department_code, uscc, coalesce(subject_name, '') AS subject_name, industry_code,"
            " evaluation_period, measure_code, measure_name, deadline, applied_on, status, status_label,"
            " workdays_late, status_on FROM marts.fct_measure_execution"
            " WHERE (%(department)s::text IS NULL OR department_code = %(department)s)"
            "   AND (NOT %(overdue)s OR status = 'overdue')"
            " ORDER BY deadline, department_code, uscc, measure_code",
            {"department": args.department, "overdue": args.overdue})  # fmt: skip
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return 0
    for r in rows:
        late = f"  逾期 {r['workdays_late']} 个工作日 OVERDUE" if r["status"] == "overdue" else ""
        print(f"{r['department_code']:<7} {r['uscc']}  {r['measure_code']:<16} {r['measure_name']}"
              f"  期限 {r['deadline']}  {r['status_label']} ({r['status']}){late}")  # fmt: skip
    on = f" on {rows[0]['status_on']} (the last grading run)" if rows else ""
    say(f"{len(rows)} {'overdue ' if args.overdue else ''}measure(s) to record as applied (信用监管执行情况)"
        + (f" at {args.department}" if args.department else "") + on)  # fmt: skip
    return 0


def cmd_commitments_letters(args: argparse.Namespace) -> int:
    """Write a department's commitment letters (HTML and PDF) into its outbox folder."""
    from credit_platform.settings import paths
    from credit_platform.supervision import letters
    from credit_platform.warehouse.urls import libpq_url, url_for

    on = None
    if args.date:
        try:
            on = dt.date.fromisoformat(args.date)
        except ValueError:
            say(f"已拒绝 / REFUSED: 日期应为 YYYY-MM-DD / the date must be YYYY-MM-DD, not {args.date!r}")
            return 2
    admin = setup_warehouse()
    outbox = Path(args.out).resolve() if args.out else paths().outbox
    try:
        done = letters.write(libpq_url(url_for("analyst", admin)), libpq_url(url_for("publisher", admin)),
                             args.department, outbox, on=on, usccs=args.uscc or None, templates=args.templates,
                             pdf=not args.no_pdf)  # fmt: skip
    except letters.LetterError as exc:
        say(f"未生成承诺书 / NO LETTERS WRITTEN: {exc}")
        return 2
    if not done.letters:
        say(f"{args.department}: 监管范围内没有主体，未生成承诺书 / no subject in the department's supervision"
            " scope: load its supervision scopes (监管范围) and grade first")  # fmt: skip
        return 1
    say(f"{done.department_code}: {done.letters} 份信用承诺书 / commitment letters ({done.pdfs} PDF) in {done.folder}"
        f" (template {done.template}, rules {done.rule_version}, measures list {done.measure_list_version or '-'});"
        f" a signed letter comes back through the commitments source as 承诺类型"
        f" {letters.COMMITMENT_TYPE}")  # fmt: skip
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
    li = msub.add_parser("list", help="the measures to record as applied, with their deadline and status"
                                      " (marts.fct_measure_execution)")  # fmt: skip
    li.add_argument("--department", help="only this department's, e.g. scjgj")
    li.add_argument("--overdue", action="store_true", help="only those not recorded by their deadline")
    li.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_measure)

    c = sub.add_parser("commitments",
                       help="credit commitments: the letters a department hands its subjects (信用承诺书)")
    csub = c.add_subparsers(dest="commitments_command", required=True, metavar="COMMAND")
    w = csub.add_parser("letters",
                        help="write one commitment letter (HTML and PDF) per subject a department supervises")
    w.add_argument("--department", required=True, help="the department's code (seed departments), e.g. zjj")
    w.add_argument("--uscc", action="append", help="only this subject (统一社会信用代码; repeat for more)")
    w.add_argument("--date",
                   help="出具日期 YYYY-MM-DD (default: today in the city): the rules and measures in force then")
    w.add_argument("--templates", help="folder of the departments' own templates, commitment_letter_<code>.html"
                                       " (default: $CREDIT_LETTER_TEMPLATES, else the packaged letter)")  # fmt: skip
    w.add_argument("--out", help="outbox folder (default: $CREDIT_OUTBOX); letters go to departments/<code>/")
    w.add_argument("--no-pdf", action="store_true", help="HTML only (faster; the PDF is what a clerk prints)")
    c.set_defaults(func=lambda a: {"letters": cmd_commitments_letters}[a.commitments_command](a))


def cmd_measure(args: argparse.Namespace) -> int:
    return {"record": cmd_measure_record, "list": cmd_measure_list}[args.measure_command](args)

"""The graded subject's side: ``objection`` and ``repair`` (file, decide, list, history) and ``letter``
(信用评价说明书 for one subject, or for every subject whose class changed)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from credit_platform.cli.common import say, setup_warehouse

WHAT = {"objection": "异议 / objection", "repair": "信用修复申请 / repair application"}


def _date(value: str | None, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}应为 YYYY-MM-DD / {what} must be YYYY-MM-DD, not {value!r}") from None


def _urls(admin: str) -> dict[str, str]:
    from credit_platform.warehouse.urls import libpq_url, url_for

    return {role: libpq_url(url_for(role, admin)) for role in ("analyst", "loader", "publisher", "transformer")}


def cmd_file(args: argparse.Namespace) -> int:
    """File one objection or repair application: a one-row file into the department's inbox, loaded."""
    from credit_platform.redress import cases
    from credit_platform.settings import paths, today

    kind = args.kind
    try:
        received = _date(args.date, "受理日期") or today()
        admin = setup_warehouse()
        urls = _urls(admin)
        number = args.number or cases.next_number(urls["transformer"], kind, args.department, received)
        f = cases.checked(cases.Filing(
            kind, args.department, number, args.uscc, received, args.grounds or "", args.name or "",
            getattr(args, "industry", "") or "", getattr(args, "period", "") or "",
            getattr(args, "record_type", "") or "", getattr(args, "record", "") or "", args.evidence or "",
            args.answer_by))  # fmt: skip
    except ValueError as exc:
        say(f"已拒绝，未登记 / REFUSED, not filed: {exc}")
        return 2
    try:
        filed = cases.file_case(urls, paths().inbox, f)
    except cases.NotLoaded as exc:
        say(str(exc))
        return 2
    say(f"已登记 / filed: {WHAT[kind]} {f.number} of {f.uscc} at {f.department_code} ({filed.file},"
        f" batch {filed.batch_id})")  # fmt: skip
    c = filed.case
    if c is None:
        say("it is registered once the first grading run has built the registers (marts.fct_objections)")
        return 0
    say(f"答复期限 / reply by {c['reply_deadline']} ({c['reply_workdays']} working days)")
    if filed.refused is not None:
        say(f"不予受理 / REFUSED as too early: {f.number} was filed before its minimum publication period ended;"
            f" the subject may apply from {c['may_apply_from']} ({c['publication_rule']}). Answer it with"
            f" `credit-platform repair decide {f.number} --department {f.department_code} --to answered`")  # fmt: skip
        return 1
    if kind == "repair" and not c["record_found"]:
        say(f"注意 / NOTE: no {c['record_type']} {c['record_reference']} of {c['uscc']} is on record: check the"
            " decision number, or refuse it as out_of_scope")  # fmt: skip
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Take one step on a case, filing what the decision changes through the inbox first."""
    from credit_platform.redress import cases, letters
    from credit_platform.settings import paths, today

    kind = args.kind
    try:
        on = _date(args.date, "办理日期") or today()
    except ValueError as exc:
        say(f"已拒绝 / REFUSED: {exc}")
        return 2
    admin = setup_warehouse()
    urls = _urls(admin)
    inbox, outbox = paths().inbox, (Path(args.out).resolve() if args.out else paths().outbox)
    try:
        step = cases.decide(urls, inbox, outbox, kind, args.department, args.number, args.to, args.by or "",
                            args.why or "", on=on, reason_code=args.reason, grade=getattr(args, "grade", None),
                            correction=getattr(args, "correction", None), pdf=not args.no_pdf)  # fmt: skip
    except (cases.StepRefused, cases.CaseNotFound, letters.LetterError) as exc:
        say(f"已拒绝，未记录 / REFUSED, not recorded: {exc}")
        return 1
    except cases.NotLoaded as exc:
        say(str(exc))
        return 2
    label = cases.STATE_LABELS[kind]
    say(f"已记录 / recorded: {args.number} {label[step.from_state]} → {label[step.to_state]} ({step.to_state})"
        f" by {step.actor} on {on}" + (f"; {step.effect}" if step.effect else ""))  # fmt: skip
    if step.to_state in ("upheld", "partly_upheld"):
        say("the next grading run takes the correction; publication then withdraws the old grade and sends the new"
            if kind == "objection" else
            "the next grading run leaves the record out; publication then withdraws it from the platforms")  # fmt: skip
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from credit_platform.redress import cases

    admin = setup_warehouse()
    rows = cases.listing(_urls(admin)["analyst"], args.kind, department=args.department, overdue=args.overdue,
                         state=args.state)  # fmt: skip
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return 0
    number = "objection_number" if args.kind == "objection" else "application_number"
    labels = cases.STATE_LABELS[args.kind]
    for r in rows:
        late = "  逾期 OVERDUE" if r["is_overdue"] else ""
        print(f"{r['department_code']:<7} {r[number]:<26} {r['uscc']}  {labels[r['state']]:<6} ({r['state']})"
              f"  收到 {r['received_date']}  答复期限 {r['reply_deadline']}{late}")  # fmt: skip
    what = "overdue " if args.overdue else ""
    say(f"{len(rows)} {what}{WHAT[args.kind]}(s)" + (f" at {args.department}" if args.department else ""))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from credit_platform.redress import cases

    admin = setup_warehouse()
    urls = _urls(admin)
    try:
        c = cases.case(urls["analyst"], args.kind, args.department, args.number)
    except cases.CaseNotFound as exc:
        say(str(exc))
        return 1
    labels = cases.STATE_LABELS[args.kind]
    print(f"{args.number} {c['uscc']} {c.get('subject_name') or ''}: 收到 {c['received_date']},"
          f" 答复期限 {c['reply_deadline']},"
          f" 现为 {labels[c['state']]} ({c['state']}){'，已逾期 OVERDUE' if c['is_overdue'] else ''}")  # fmt: skip
    for s in cases.history(urls["analyst"], args.kind, args.department, args.number):
        print(f"  {s['decided_on']} {labels[s['from_state']]} → {labels[s['to_state']]}  {s['actor']}: {s['reason']}"
              + (f" [{s['reason_code']}]" if s["reason_code"] else "") + (f"  ({s['effect']})" if s["effect"] else ""))
    return 0


def cmd_letter(args: argparse.Namespace) -> int:
    from credit_platform import uscc as credit_code
    from credit_platform.redress import letters
    from credit_platform.settings import paths

    try:
        on = _date(args.date, "出具日期")
    except ValueError as exc:
        say(f"已拒绝 / REFUSED: {exc}")
        return 2
    if bool(args.uscc) == bool(args.changed):
        say("give one USCC, or --changed for every subject whose class changed")
        return 2
    admin = setup_warehouse()
    urls = _urls(admin)
    outbox = Path(args.out).resolve() if args.out else paths().outbox
    if args.changed:
        targets = letters.changed_subjects(urls["analyst"], period=args.period, department=args.department)
    else:
        code = credit_code.normalise(args.uscc)
        if not credit_code.is_valid(code):
            say(f"统一社会信用代码无效 / not a valid unified social credit code: {args.uscc!r}")
            return 2
        targets = [(code, args.industry, args.period)]
    try:
        done = letters.write_many(urls["transformer"], urls["publisher"], targets, outbox, on=on, pdf=not args.no_pdf)
    except letters.LetterError as exc:
        say(f"未生成 / NOT WRITTEN: {exc}")
        return 1
    count, pdfs, folders = done.letters, done.pdfs, done.folders
    say(f"{count} 份信用评价说明书 / explanation letters ({pdfs} PDF) in {', '.join(sorted(folders)) or '-'}")
    return 0


HANDLERS = {"file": cmd_file, "decide": cmd_decide, "list": cmd_list, "history": cmd_history}


def _case_parsers(sub: argparse._SubParsersAction, kind: str, title: str) -> None:
    p = sub.add_parser(kind, help=title)
    p.set_defaults(func=lambda a: HANDLERS[getattr(a, f"{kind}_command")](a))
    s = p.add_subparsers(dest=f"{kind}_command", required=True, metavar="COMMAND")
    f = s.add_parser("file", help=f"register one {kind} a department received (a one-row file through its inbox)")
    f.add_argument("--department", required=True, help="the receiving department's code, e.g. scjgj")
    f.add_argument("--uscc", required=True, help="统一社会信用代码 of the subject")
    if kind == "objection":
        f.add_argument("--industry", required=True, help="行业 (code or name) the objection is about")
        f.add_argument("--period", required=True, help="评价周期, e.g. 2025-H2")
    else:
        f.add_argument("--record-type", required=True, choices=["penalty", "serious_dishonesty"],
                       help="修复信息类别: penalty 行政处罚 / serious_dishonesty 严重失信主体名单")  # fmt: skip
        f.add_argument("--record", required=True, help="原决定文书号 of the record to repair")
    f.add_argument("--grounds", required=True, help="理由 (异议理由 / 申请理由)")
    f.add_argument("--evidence", help="证明材料 (a reference to the material)")
    f.add_argument("--answer-by", default="书面", choices=["书面", "电子邮件", "短信", "当面"],
                   help="答复方式 (default 书面)")
    f.add_argument("--date", help="受理日期 YYYY-MM-DD (default today)")
    f.add_argument("--number", help="the department's own number (default <YY|XF>-<DEPT>-<date>-<n>)")
    f.add_argument("--name", help="主体名称")
    f.set_defaults(kind=kind)

    d = s.add_parser("decide", help="take one step: accepted, refused, under_review, upheld, partly_upheld, rejected,"
                                    " answered (answered writes the answer letter)")  # fmt: skip
    d.add_argument("number", help="异议编号 / 申请编号")
    d.add_argument("--department", required=True)
    d.add_argument("--to", required=True, help="the new state")
    d.add_argument("--by", required=True, help="办理人 (who takes the step)")
    d.add_argument("--why", required=True, help="理由")
    d.add_argument("--reason", choices=sorted({"out_of_scope", "out_of_time", "too_early"}),
                   help="不予受理原因 (refused only)")  # fmt: skip
    if kind == "objection":
        d.add_argument("--grade", help="upheld: the corrected grade, filed as a grade adjustment naming the objection")
        d.add_argument("--correction", help="upheld: the corrected or withdrawn source record already sent instead")
    d.add_argument("--date", help="办理日期 YYYY-MM-DD (default today)")
    d.add_argument("--out", help="outbox folder for the answer letter (default $CREDIT_OUTBOX)")
    d.add_argument("--no-pdf", action="store_true", help="the answer letter as HTML only")
    d.set_defaults(kind=kind)

    li = s.add_parser("list", help=f"the {kind}s with their state and reply deadline")
    li.add_argument("--department")
    li.add_argument("--overdue", action="store_true", help="only those not answered by their deadline")
    li.add_argument("--state", help="only those in this state")
    li.add_argument("--json", action="store_true")
    li.set_defaults(kind=kind)

    h = s.add_parser("history", help="every step taken on one case: who, when, why")
    h.add_argument("number")
    h.add_argument("--department", required=True)
    h.set_defaults(kind=kind)


def register(sub: argparse._SubParsersAction) -> None:
    _case_parsers(sub, "objection", "objections to a grade (异议): file, decide, list, history")
    _case_parsers(sub, "repair", "applications to repair a penalty or a list entry (信用修复申请): file, decide, list,"
                                 " history")  # fmt: skip
    le = sub.add_parser("letter", help="the explanation letter of a subject's grade (信用评价说明书), HTML and PDF")
    le.add_argument("uscc", nargs="?", help="统一社会信用代码")
    le.add_argument("--industry", help="one industry (default each the subject is graded in)")
    le.add_argument("--period", help="评价期 (default the latest)")
    le.add_argument("--changed", action="store_true",
                    help="instead of one subject: every subject whose class changed from the previous period")
    le.add_argument("--department", help="--changed: only this department's industries")
    le.add_argument("--date", help="出具日期 YYYY-MM-DD (default today)")
    le.add_argument("--out", help="outbox folder (default $CREDIT_OUTBOX); letters go to departments/<code>/")
    le.add_argument("--no-pdf", action="store_true", help="HTML only")
    le.set_defaults(func=cmd_letter)

"""Letters to a graded subject: the explanation letter (信用评价说明书) and the answers to its
objections and repair applications (异议答复书, 信用修复申请答复书), in Chinese, as HTML and PDF.

An explanation letter states one grade (a subject in an industry and period): the grade and class,
the rule version and its cut points, each indicator's points with the records behind them
(document numbers and dates, read back from the raw rows ``marts.fct_grade_explanations`` names),
what changed since the previous period and why, the measures and the inspection frequency the class
brings, and how and by when the subject may object or apply for repair. Every figure is read from
the marts, so the letter says what the explanation rows say; the facts are gathered by
``grading/explain.py``, which ``credit-platform explain`` prints. Read as the transformer role (the
records are in ``raw``); each letter is logged in ``ops.subject_letters`` as the publisher role.
Letters go to ``<outbox>/departments/<code>/letters_<date>/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psycopg

from credit_platform.grading import explain
from credit_platform.redress.states import PLATFORM_ACTOR, REFUSAL_REASONS, STATE_LABELS
from credit_platform.settings import today

DECISION_EFFECTS = {
    ("objection", "upheld"): "异议成立。本机关已更正贵单位的信用等级，"
                             "更正后的等级将在下次评价运行后公布，原等级同时撤回。",
    ("objection", "partly_upheld"): "异议部分成立。本机关已按查明的事实更正贵单位的信用等级，"
                                    "更正后的等级将在下次评价运行后公布，原等级同时撤回。",
    ("objection", "rejected"): "异议不成立。经复核，原评价所依据的信息和标准无误，维持原信用等级。",
    ("objection", "refused"): "本异议不予受理，原信用等级不变。",
    ("repair", "upheld"): "准予信用修复。该信息自修复决定之日起不再计入信用评价，不再公示，已通知各共享平台撤下。",
    ("repair", "partly_upheld"): "部分准予信用修复。已修复的信息自修复决定之日起不再计入信用评价，不再公示，"
                                 "已通知各共享平台撤下。",
    ("repair", "rejected"): "不予信用修复。该信息继续按原公示期限公示并计入信用评价。",
    ("repair", "refused"): "本申请不予受理，该信息继续按原公示期限公示并计入信用评价。",
}  # fmt: skip


class LetterError(ValueError):
    pass


@dataclass
class Written:
    folder: Path
    letters: list[str] = field(default_factory=list)
    pdfs: int = 0


def gather(url: str | psycopg.Connection, uscc: str, *, industry: str | None = None, period: str | None = None,
           on: dt.date | None = None, memo: dict | None = None) -> list[dict]:  # fmt: skip
    """One context per grade the letter states (``grading.explain.gather``, which ``credit-platform
    explain`` prints too): the subject's grades in ``period`` (default its latest), in ``industry`` or in
    each industry. Raises ``LetterError`` when the subject has no such grade."""
    try:
        return explain.gather(url, uscc, industry=industry, period=period, on=on, memo=memo)
    except explain.NotGraded as exc:
        raise LetterError(str(exc)) from exc


@cache
def _environment():
    import jinja2

    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("credit_platform.redress", "templates"),
                                  jinja2.PackageLoader("credit_platform.supervision", "templates")])  # the page style
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)  # fmt: skip


def _write(publisher_url: str, folder: Path, stem: str, html: str, pdf: bool, log: dict, done: Written) -> None:
    from credit_platform.supervision.letters import render_pdf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.html").write_text(html, encoding="utf-8")
    digest = None
    if pdf:
        data = render_pdf(html)
        (folder / f"{stem}.pdf").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        done.pdfs += 1
    with explain.connected(publisher_url) as conn:
        conn.execute(
            "INSERT INTO ops.subject_letters (letter_number, letter_kind, department_code, uscc, industry_code,"
            " evaluation_period, case_number, html_path, pdf_path, pdf_sha256, written_on)"
            " VALUES (%(letter_number)s, %(letter_kind)s, %(department_code)s, %(uscc)s, %(industry_code)s,"
            " %(evaluation_period)s, %(case_number)s, %(html)s, %(pdf)s, %(sha)s, %(written_on)s)"
            " ON CONFLICT (letter_number) DO UPDATE SET html_path = EXCLUDED.html_path, pdf_path = EXCLUDED.pdf_path,"
            " pdf_sha256 = EXCLUDED.pdf_sha256, written_at = now()",
            {**log, "html": str(folder / f"{stem}.html"), "pdf": str(folder / f"{stem}.pdf") if pdf else None,
             "sha": digest})  # fmt: skip
    done.letters.append(log["letter_number"])


def _explanation_number(ctx: dict) -> str:
    return f"XYSM-{ctx['department_code'].upper()}-{ctx['evaluation_period']}-{ctx['industry_code']}-{ctx['uscc']}"


def write_explanations(transformer_url, publisher_url, uscc: str, outbox: Path, *,
                       industry: str | None = None, period: str | None = None, on: dt.date | None = None,
                       pdf: bool = True, contexts: list[dict] | None = None,
                       memo: dict | None = None) -> Written:  # fmt: skip
    """The explanation letter of each grade ``gather`` finds, one file per industry, in the department's folder."""
    on = on or today()
    template = _environment().get_template("explanation_letter.html")
    done = None
    for ctx in contexts if contexts is not None else gather(transformer_url, uscc, industry=industry, period=period,
                                                            on=on, memo=memo):  # fmt: skip
        number = _explanation_number(ctx)
        folder = outbox / "departments" / ctx["department_code"] / f"letters_{on:%Y%m%d}"
        done = done or Written(folder)
        html = template.render(**ctx, letter_number=number, written_on=on.isoformat())
        _write(publisher_url, folder, f"explanation_{ctx['industry_code']}_{ctx['evaluation_period']}_{uscc}", html,
               pdf, {"letter_number": number, "letter_kind": "explanation", "department_code": ctx["department_code"],
                     "uscc": uscc, "industry_code": ctx["industry_code"], "evaluation_period": ctx["evaluation_period"],
                     "case_number": None, "written_on": on}, done)  # fmt: skip
    return done


@dataclass
class Batch:
    letters: int = 0
    pdfs: int = 0
    skipped: int = 0
    folders: set[str] = field(default_factory=set)


def write_many(transformer_url: str, publisher_url: str, targets: list[tuple[str, str | None, str | None]],
               outbox: Path, *, on: dt.date | None = None, pdf: bool = True, skip_written: bool = False) -> Batch:
    """The explanation letters of ``targets`` (uscc, industry or None, period or None) over two shared
    connections; with ``skip_written``, not those whose letter number is already logged."""
    done, memo = Batch(), {}
    with psycopg.connect(transformer_url) as reader, psycopg.connect(publisher_url, autocommit=True) as log:
        written = {n for (n,) in log.execute("SELECT letter_number FROM ops.subject_letters"
                                             " WHERE letter_kind = 'explanation'")} if skip_written else set()
        for uscc, industry, period in targets:
            contexts = [ctx for ctx in gather(reader, uscc, industry=industry, period=period, on=on, memo=memo)
                        if _explanation_number(ctx) not in written]  # fmt: skip
            done.skipped += 0 if contexts else 1
            if contexts:
                w = write_explanations(reader, log, uscc, outbox, on=on, pdf=pdf, contexts=contexts)
                done.letters, done.pdfs = done.letters + len(w.letters), done.pdfs + w.pdfs
                done.folders.add(str(w.folder))
    return done


def changed_subjects(url: str, *, period: str | None = None,
                     department: str | None = None) -> list[tuple[str, str, str]]:  # fmt: skip
    """(uscc, industry, period) of every grade whose class changed from the previous period (marts.fct_grade_changes):
    the latest period unless ``period`` names one."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT c.uscc, c.industry_code, c.to_period FROM marts.fct_grade_changes c"
            " JOIN marts.dim_industries i USING (industry_code)"
            " WHERE c.to_period = coalesce(%(p)s, (SELECT max(to_period) FROM marts.fct_grade_changes))"
            " AND (%(d)s::text IS NULL OR i.department_code = %(d)s) ORDER BY 2, 1",
            {"p": period, "d": department}).fetchall()  # fmt: skip


def write_answer(transformer_url: str, publisher_url: str, kind: str, c: dict, steps: list[dict], outbox: Path, *,
                 on: dt.date, pdf: bool = True) -> Written:  # fmt: skip
    """The answer to an objection or a repair application (its register row ``c`` and its steps), stating
    the decision and its effect, in the department's folder."""
    number = c["objection_number" if kind == "objection" else "application_number"]
    decision = next((s for s in reversed(steps) if s["to_state"] in ("upheld", "partly_upheld", "rejected", "refused")),
                    None)  # fmt: skip
    if decision is None:
        raise LetterError(f"{number} 尚无处理结论，不能答复 / the case has no decision yet: it cannot be answered")
    effect_text = DECISION_EFFECTS[(kind, decision["to_state"])]
    with psycopg.connect(transformer_url) as conn:
        dept = conn.execute("SELECT department_name FROM marts.dim_industries WHERE department_code = %s LIMIT 1",
                            (c["department_code"],)).fetchone()  # fmt: skip
        corrected = conn.execute(
            "SELECT h.grade, h.grade_class, (h.valid_from AT TIME ZONE 'Asia/Shanghai')::date, p.grade"
            " FROM marts.fct_grade_history AS h LEFT JOIN marts.fct_grade_history AS p USING (uscc, industry_code,"
            " evaluation_period) WHERE h.objection_id = %s AND h.uscc = %s AND p.version_number = h.version_number - 1"
            " ORDER BY h.version_number DESC LIMIT 1", (number, c["uscc"])).fetchone() if kind == "objection" else None
    if corrected:  # the next grading run has taken the correction: say what it did
        grade, cls, since, before = corrected
        effect_text = (f"{STATE_LABELS[kind][decision['to_state']]}。本机关已将贵单位的信用等级由 {before}"
                       f" 更正为 {grade}（{cls} 类），自 {since} 起生效；"
                       "已通知各共享平台撤回原等级并公布更正后的等级。")  # fmt: skip
    ctx = {
        "kind": kind, "case": c, "number": number, "department_name": dept[0] if dept else c["department_code"],
        "decision_label": STATE_LABELS[kind][decision["to_state"]], "decision_reason": decision["reason"],
        "decided_by": decision["actor"], "decided_on": decision["decided_on"],
        "refusal": REFUSAL_REASONS.get(decision["reason_code"] or "", "").split(" / ")[0],
        "effect_text": effect_text, "effect": c.get("effect") or "",
        "steps": [{**s, "label": STATE_LABELS[kind][s["to_state"]],
                   "actor": "系统核验" if s["actor"] == PLATFORM_ACTOR else s["actor"]} for s in steps],
        "grades": [],
    }  # fmt: skip
    if kind == "objection" and c.get("industry_code") and c.get("evaluation_period"):
        try:
            ctx["grades"] = gather(transformer_url, c["uscc"], industry=c["industry_code"],
                                   period=c["evaluation_period"], on=on)  # fmt: skip
        except LetterError:
            ctx["grades"] = []
    letter_kind = "objection_answer" if kind == "objection" else "repair_answer"
    letter_number = f"{'YYDF' if kind == 'objection' else 'XFDF'}-{number}"
    folder = outbox / "departments" / c["department_code"] / f"letters_{on:%Y%m%d}"
    done = Written(folder)
    html = _environment().get_template("answer_letter.html").render(**ctx, letter_number=letter_number,
                                                                    written_on=on.isoformat())  # fmt: skip
    _write(publisher_url, folder, f"{letter_kind}_{number}", html, pdf,
           {"letter_number": letter_number, "letter_kind": letter_kind, "department_code": c["department_code"],
            "uscc": c["uscc"], "industry_code": c.get("industry_code"), "evaluation_period": c.get("evaluation_period"),
            "case_number": number, "written_on": on}, done)  # fmt: skip
    return done


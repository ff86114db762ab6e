"""Credit commitment letters (信用承诺书): one per supervised subject of a department.

The opinions on 信用分级分类监管 ask that a subject's commitment state its credit code, the
information used in grading, the grade standards and the measures each grade brings. A letter is
rendered from the department's Jinja2 template (``commitment_letter_<department>.html`` in the
templates folder, else the packaged ``templates/commitment_letter.html``) as HTML and as a PDF
(xhtml2pdf on reportlab, in reportlab's built-in CID font ``STSong-Light``: no system font is
needed to write it, and a PDF reader supplies the face). Everything comes from the marts in force
on the day the letters are written: the rule version and its grade levels, the industry's
indicators, the measures list and the subject's latest grade. Each letter is logged in
``ops.commitment_letters``; a signed letter comes back through the commitments source (承诺类型
``COMMITMENT_TYPE``, 承诺内容 quoting the letter number), and only a consenting subject's commitment
is shared upward (dataset ``commitments`` in ``publication.yml``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from credit_platform import uscc as credit_code
from credit_platform.grade_levels import CLASS_LABELS
from credit_platform.settings import today

#: 承诺类型 a signed letter is recorded with (one of the national types: 主动型 信用承诺).
COMMITMENT_TYPE = "主动型"
#: 承诺内容 of a signed letter: the letter's number follows.
COMMITMENT_CONTENT = "分级分类监管信用承诺"
DEFAULT_TEMPLATE = "commitment_letter.html"
FONT = "STSong-Light"


class LetterError(ValueError):
    """The letters cannot be written (unknown department, no rule version in force ...): says why."""


@dataclass
class Written:
    department_code: str
    folder: Path
    letters: int = 0
    pdfs: int = 0
    template: str = DEFAULT_TEMPLATE
    rule_version: str = ""
    measure_list_version: str | None = None
    numbers: list[str] = field(default_factory=list)


def templates_dir(given: str | Path | None = None) -> Path | None:
    """The folder of the departments' own templates: ``given``, else ``$CREDIT_LETTER_TEMPLATES``."""
    value = given or os.environ.get("CREDIT_LETTER_TEMPLATES")
    return Path(value).expanduser().resolve() if value else None


def _environment(own: Path | None):
    import jinja2

    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("credit_platform.supervision", "templates")]
    if own is not None:
        if not own.is_dir():
            raise LetterError(f"模板目录不存在 / the templates folder {own} does not exist")
        loaders.insert(0, jinja2.FileSystemLoader(str(own)))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip


def _in_force(rows: list[tuple], on: dt.date, what: str) -> tuple:
    for row in rows:  # (version, effective_from, effective_to, ...) latest first
        if row[1] <= on and (row[2] is None or row[2] >= on):
            return row
    raise LetterError(f"{on} 没有生效的{what} / no {what} is in force on {on}")


def _range(levels: list[tuple], i: int) -> str:
    _grade, _cls, lower, upper, inclusive = levels[i]
    return f"{float(lower):g} {'≤' if inclusive else '<'} 得分 ≤ {float(upper):g}"


def gather(url: str, department: str, on: dt.date, usccs: list[str] | None = None) -> tuple[dict, list[dict]]:
    """What every letter of ``department`` states (rule version, grade levels, platforms) and, per
    subject in its supervision scope (or only ``usccs``), its industries with their indicators,
    measures per class and latest grade. Read from the marts as the analyst role."""
    from credit_platform.publish import config as publication
    from credit_platform.publish.workbooks import MEASURE_KINDS

    with psycopg.connect(url) as conn:
        dept = conn.execute("SELECT department_name FROM marts.dim_industries WHERE department_code = %s LIMIT 1",
                            (department,)).fetchone()  # fmt: skip
        if dept is None:
            known = [r[0] for r in conn.execute("SELECT DISTINCT department_code FROM marts.dim_industries ORDER BY 1")]
            raise LetterError(f"未知部门或该部门不评价任何行业 / department {department!r} grades no industry"
                              f" (departments that do: {', '.join(known)})")  # fmt: skip
        versions = conn.execute("SELECT rule_version, effective_from, effective_to, description"
                                " FROM marts.dim_rule_versions ORDER BY effective_from DESC").fetchall()  # fmt: skip
        rule_version, _f, _t, rule_description = _in_force(versions, on, "评价规则 / rule version")
        lists = conn.execute("SELECT DISTINCT measure_list_version, effective_from, effective_to"
                             " FROM marts.dim_supervision_measures WHERE department_code = %s"
                             " ORDER BY effective_from DESC", (department,)).fetchall()  # fmt: skip
        try:
            measure_list = _in_force(lists, on, "措施清单 / measures list")[0]
        except LetterError:
            measure_list = None
        levels = conn.execute("SELECT grade, grade_class, lower_bound, upper_bound, is_lower_inclusive"
                              " FROM marts.dim_grade_levels WHERE rule_version = %s ORDER BY level_rank",
                              (rule_version,)).fetchall()  # fmt: skip
        industries = {code: name for code, name in conn.execute(
            "SELECT industry_code, industry_name FROM marts.dim_industries WHERE department_code = %s ORDER BY 1",
            (department,))}  # fmt: skip
        indicators = defaultdict(list)
        for row in conn.execute(
            "SELECT industry_code, dimension_name, indicator_name, weight, direction, reasoning"
            " FROM marts.dim_indicators WHERE rule_version = %s AND industry_code = ANY(%s)"
            " ORDER BY industry_code, dimension_code, weight DESC, indicator_code",
            (rule_version, list(industries))):  # fmt: skip
            indicators[row[0]].append({"dimension_name": row[1], "indicator_name": row[2],
                                       "weight": f"{float(row[3]):g}", "direction": row[4],
                                       "reasoning": row[5] or ""})  # fmt: skip
        measures = defaultdict(list)
        for row in conn.execute(
            "SELECT industry_code, grade_class, measure_name, measure_kind, applied_by, legal_basis, valid_months"
            " FROM marts.dim_supervision_measures WHERE measure_list_version = %s AND department_code = %s"
            " ORDER BY industry_code, grade_class, measure_code", (measure_list, department)):  # fmt: skip
            measures[row[0]].append({"grade_class": row[1], "measure_name": row[2],
                                     "kind_label": MEASURE_KINDS.get(row[3], row[3]), "applied_by": row[4] or "",
                                     "legal_basis": row[5] or "", "valid_months": row[6]})  # fmt: skip
        subjects = conn.execute(
            "SELECT DISTINCT ON (s.uscc, s.industry_code) s.uscc, coalesce(d.subject_name, ''), s.industry_code,"
            " g.grade, g.grade_class, g.evaluation_period, g.score"
            " FROM marts.fct_supervision_scopes AS s"
            " LEFT JOIN marts.dim_subjects AS d ON d.uscc = s.uscc"
            " LEFT JOIN marts.fct_industry_credit_grades AS g ON g.uscc = s.uscc AND g.industry_code = s.industry_code"
            " WHERE s.department_code = %s AND NOT s.is_deregistered AND (%s::text[] IS NULL OR s.uscc = ANY(%s))"
            " ORDER BY s.uscc, s.industry_code, g.period_end_date DESC NULLS LAST",
            (department, usccs, usccs)).fetchall()  # fmt: skip
    common = {
        "department_code": department, "department_name": dept[0], "rule_version": rule_version,
        "rule_description": rule_description or "", "measure_list_version": measure_list,
        "grade_levels": [{"grade": g[0], "grade_class": g[1], "class_label": CLASS_LABELS.get(g[1], g[1]),
                          "range": _range(levels, i)} for i, g in enumerate(levels)],
        "platform_names": "、".join(f"“{p.title}”" for p in publication.load().platforms.values()),
        "commitment_type": COMMITMENT_TYPE,
    }  # fmt: skip
    by_subject: dict[str, dict] = {}
    for uscc, name, industry, grade, cls, period, score in subjects:
        s = by_subject.setdefault(uscc, {"uscc": uscc, "subject_name": name, "industries": []})
        s["industries"].append({
            "industry_code": industry, "industry_name": industries.get(industry, industry),
            "grade": grade, "grade_class": cls, "evaluation_period": period,
            "score": f"{float(score):g}" if score is not None else "", "indicators": indicators[industry],
            "measures": measures[industry]})  # fmt: skip
    return common, list(by_subject.values())


def render_pdf(html: str) -> bytes:
    """The letter's HTML as a PDF (A4), its Chinese set in reportlab's CID font STSong-Light."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from xhtml2pdf import pisa

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise LetterError(f"PDF 生成失败 / the PDF could not be made ({status.err} error(s) in the template)")
    return out.getvalue()


def write(analyst_url: str, publisher_url: str, department: str, outbox: Path, *, on: dt.date | None = None,
          usccs: list[str] | None = None, templates: str | Path | None = None,
          pdf: bool = True) -> Written:  # fmt: skip
    """Write the letters of ``department`` into ``<outbox>/departments/<department>/commitment_letters_<date>/``
    (``<uscc>.html`` and ``<uscc>.pdf``) and log each in ``ops.commitment_letters``."""
    on = on or today()
    if usccs is not None:
        usccs = [credit_code.normalise(u) for u in usccs]
        bad = [u for u in usccs if not credit_code.is_valid(u)]
        if bad:
            raise LetterError(f"统一社会信用代码无效 / not a valid unified social credit code: {', '.join(bad)}")
    env = _environment(templates_dir(templates))
    template = env.select_template([f"commitment_letter_{department}.html", DEFAULT_TEMPLATE])
    common, subjects = gather(analyst_url, department, on, usccs)
    if usccs is not None:
        missing = sorted(set(usccs) - {s["uscc"] for s in subjects})
        if missing:
            raise LetterError(f"不在{common['department_name']}的监管范围内 / not in the department's supervision"
                              f" scope (or deregistered): {', '.join(missing)}")  # fmt: skip
    folder = outbox / "departments" / department / f"commitment_letters_{on:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    done = Written(department, folder, template=template.name or DEFAULT_TEMPLATE, rule_version=common["rule_version"],
                   measure_list_version=common["measure_list_version"])  # fmt: skip
    with psycopg.connect(publisher_url) as conn:
        for s in subjects:
            number = _number(department, s["uscc"], on)
            html = template.render(**common, **s, letter_number=number, written_on=on.isoformat(),
                                   commitment_content=f"{COMMITMENT_CONTENT}（{number}）")  # fmt: skip
            (folder / f"{s['uscc']}.html").write_text(html, encoding="utf-8")
            digest = None
            if pdf:
                data = render_pdf(html)
                (folder / f"{s['uscc']}.pdf").write_bytes(data)
                digest = hashlib.sha256(data).hexdigest()
                done.pdfs += 1
            conn.execute(
                "INSERT INTO ops.commitment_letters (letter_number, department_code, uscc, subject_name,"
                " industry_codes, commitment_type, rule_version, measure_list_version, template, html_path,"
                " pdf_path, pdf_sha256, written_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (letter_number) DO UPDATE SET html_path = EXCLUDED.html_path, pdf_path ="
                " EXCLUDED.pdf_path, pdf_sha256 = EXCLUDED.pdf_sha256, template = EXCLUDED.template,"
                " rule_version = EXCLUDED.rule_version, measure_list_version = EXCLUDED.measure_list_version",
                (number, department, s["uscc"], s["subject_name"], [i["industry_code"] for i in s["industries"]],
                 COMMITMENT_TYPE, common["rule_version"], common["measure_list_version"], done.template,
                 str(folder / f"{s['uscc']}.html"), str(folder / f"{s['uscc']}.pdf") if pdf else None, digest, on),
            )  # fmt: skip
            done.letters += 1
            done.numbers.append(number)
    return done


def _number(department: str, uscc: str, on: dt.date) -> str:
    """承诺书编号: department, day and credit code (writing the letters again the same day keeps the number)."""
    return f"XYCN-{department.upper()}-{on:%Y%m%d}-{uscc}"

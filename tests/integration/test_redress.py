"""The graded subject's side, on the shared graded city, through the command line a clerk uses: an
objection filed, decided step by step and upheld, changing exactly that subject's grade and its
publication; a repair application refused before its date and granted after; the explanation letter
stating what the explanation rows say; reply deadlines across 2027 from a configured holiday table."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from importlib import resources
from pathlib import Path

import pypdf
import pytest
import yaml
from openpyxl import load_workbook
from sql import rows

from credit_platform import cli, workdays
from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.publish import config, publish
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.settings import today as city_today
from credit_platform.warehouse import migrate
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

TODAY = city_today()  # the city's date (Asia/Shanghai), as the platform counts it: a UTC date lags 8 hours


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("redress") as c:
        c["publisher"] = libpq_url(url_for("publisher", c["url"]))
        c["transformer"] = libpq_url(url_for("transformer", c["url"]))
        yield c


@pytest.fixture
def clerk(city, cli_runner, tmp_path):
    """``clerk("objection", "file", ...)`` runs the command as a clerk would and returns (exit code, messages)."""
    return cli_runner(city["url"], tmp_path / "outbox")


def _province_only() -> config.Config:
    data = yaml.safe_load(resources.files("credit_platform.publish").joinpath("publication.yml").read_text("utf-8"))
    data["platforms"] = {"province": data["platforms"]["province"]}
    return config.parse(data)


def _rebuild(city, *select: str) -> None:
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", *select],
                  base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def _publish(city, tmp_path: Path) -> list[tuple[str, str, str]]:
    """Publish to the province; returns the (dataset, action, item key) of what this run sent."""
    (before,) = rows(city["admin"], "SELECT coalesce(max(publication_id), 0) FROM ops.publications")[0]
    assert run_checkpoint(city["publisher"], "marts").success
    publish(city["publisher"], config=_province_only(), as_of=TODAY, outbox=tmp_path / "outbox",
            spool=tmp_path / "spool", sleep=lambda s: None)  # fmt: skip
    return rows(city["admin"], "SELECT p.dataset, i.action, i.item_key FROM ops.publication_batch_items AS i"
                               " JOIN ops.publications AS p USING (publication_id) WHERE p.publication_id > %s"
                               " AND p.platform = 'province' ORDER BY 1, 2, 3", (before,))  # fmt: skip


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pdf_text(path: Path) -> str:
    return _flat("\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages))


def test_an_upheld_objection_changes_that_grade_alone_republishes_it_and_is_answered(city, clerk, tmp_path):
    # A subject of zjj's in class B in the latest period, published to the province.
    uscc, industry, period, grade, cls = rows(city["admin"], (
        "SELECT g.uscc, g.industry_code, g.evaluation_period, g.grade, g.grade_class"
        " FROM marts.fct_industry_credit_grades AS g JOIN marts.dim_industries AS i USING (industry_code)"
        " WHERE i.department_code = 'zjj' AND g.grade_class = 'B' AND g.grade_basis = 'computed'"
        " AND g.evaluation_period = (SELECT max(evaluation_period) FROM marts.fct_industry_credit_grades)"
        " ORDER BY g.uscc LIMIT 1"))[0]  # fmt: skip
    _publish(city, tmp_path)
    grades_before = rows(city["admin"], "SELECT uscc, industry_code, evaluation_period, grade, score"
                                        " FROM marts.fct_industry_credit_grades ORDER BY 1, 2, 3")  # fmt: skip
    received = TODAY - dt.timedelta(days=10)
    code, said = clerk("objection", "file", "--department", "zjj", "--uscc", uscc, "--industry", industry,
                       "--period", period, "--grounds", "投诉已查明不实", "--evidence", "调查报告 2026-11",
                       "--date", received.isoformat())  # fmt: skip
    assert code == 0, said
    number = re.search(r"filed: 异议 / objection (\S+)", said).group(1)
    assert number == f"YY-ZJJ-{received:%Y%m%d}-001"
    receipt = load_workbook(next((tmp_path / "outbox/departments/zjj").glob("回执_*_objections*.xlsx"))).active
    assert receipt["A1"].value.startswith("已装载，全部数据参与评价")  # the clerk's receipt for the filed case
    assert f"reply by {workdays.add_workdays(received, 15)}" in said

    def decide(to: str, *extra: str, on: dt.date = received) -> tuple[int, str]:
        return clerk("objection", "decide", number, "--department", "zjj", "--to", to, "--by", "王科长",
                     "--why", f"{to} 理由", "--date", on.isoformat(), *extra)  # fmt: skip

    # Forbidden steps are refused and leave nothing behind.
    code, said = decide("upheld", "--grade", "A")
    assert code == 1 and "is received and cannot move to upheld" in said and "已受理（accepted）" in said
    code, said = decide("refused")
    assert code == 1 and "a refusal names its reason" in said
    assert decide("accepted")[0] == 0
    assert decide("accepted")[0] == 1  # already accepted
    assert decide("under_review", on=received + dt.timedelta(days=1))[0] == 0
    code, said = decide("upheld", on=received + dt.timedelta(days=5))
    assert code == 1 and "an upheld objection records its correction" in said
    assert not rows(city["admin"], "SELECT 1 FROM raw.grade_adjustments WHERE objection_id = %s", (number,))
    code, said = decide("upheld", "--grade", "A-", on=received + dt.timedelta(days=5))
    assert code == 0, said
    (state, decision, effect, overdue) = rows(city["admin"], "SELECT state, decision, effect, is_overdue"
                                                             " FROM marts.fct_objections WHERE objection_number = %s",
                                              (number,))[0]  # fmt: skip
    assert (state, decision, overdue) == ("upheld", "upheld", False) and f"YYGZ-{number}" in effect

    # The next grading run: exactly that grade changes, as a correction naming the objection.
    _rebuild(city, "stg_departments__grade_adjustments+")
    grades_after = rows(city["admin"], "SELECT uscc, industry_code, evaluation_period, grade, score"
                                       " FROM marts.fct_industry_credit_grades ORDER BY 1, 2, 3")  # fmt: skip
    changed = set(grades_after) ^ set(grades_before)
    assert {r[:4] for r in changed} == {(uscc, industry, period, grade), (uscc, industry, period, "A-")}
    history = rows(city["admin"], "SELECT version_number, grade, grade_basis, objection_id, is_current"
                                  " FROM marts.fct_grade_history WHERE uscc = %s AND industry_code = %s"
                                  " AND evaluation_period = %s ORDER BY 1", (uscc, industry, period))  # fmt: skip
    assert [h[1:] for h in history[-2:]] == [(grade, "computed", None, False),
                                             ("A-", "objection_correction", number, True)]  # fmt: skip
    # The measures of class B end; those of class A begin.
    spells = rows(city["admin"], "SELECT grade_class, bool_and(ended_on IS NOT NULL) FROM marts.fct_subject_measures"
                                 " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s GROUP BY 1"
                                 " ORDER BY 1", (uscc, industry, period))  # fmt: skip
    assert spells == [("A", False), (cls, True)], spells
    # Publication: the old grade withdrawn, the new one sent, nothing else.
    grades_sent = [s for s in _publish(city, tmp_path) if s[0] == "grades"]
    assert grades_sent == [("grades", "upsert", f"{industry}|{uscc}|{period}|A-"),
                           ("grades", "withdraw", f"{industry}|{uscc}|{period}|{grade}")]  # fmt: skip

    # The answer: a letter stating the decision and the corrected grade.
    code, said = decide("answered", on=received + dt.timedelta(days=6))
    assert code == 0, said
    ((path, kind),) = rows(city["admin"], "SELECT pdf_path, letter_kind FROM ops.subject_letters"
                                          " WHERE case_number = %s", (number,))  # fmt: skip
    text = _pdf_text(Path(path))
    assert kind == "objection_answer" and "异议答复书" in text and "异议成立" in text and _flat("A-（A类") in text
    assert decide("rejected")[0] == 1  # answered is final
    code, said = clerk("objection", "history", number, "--department", "zjj")
    assert [ln.split()[1:4] for ln in said.splitlines()[1:5]] == [
        ["已收到", "→", "已受理"], ["已受理", "→", "审查中"], ["审查中", "→", "异议成立"], ["异议成立", "→", "已答复"]]


def test_a_repair_application_is_refused_before_its_date_and_granted_after(city, clerk, tmp_path):
    uscc, reference, department, decided, may_apply = rows(city["admin"], (
        "SELECT r.uscc, r.record_reference, r.department_code, r.record_date, r.may_apply_from"
        " FROM marts.fct_repairable_records AS r JOIN marts.fct_shared_records AS s"
        "   ON s.record_type = 'penalty' AND s.uscc = r.uscc AND s.decision_number = r.record_reference"
        " WHERE r.record_type = 'penalty' AND r.repaired_date IS NULL AND r.may_apply_from <= %(t)s - 5"
        " AND r.may_apply_from > r.record_date + 5 AND r.publication_end_date > %(t)s"
        " ORDER BY r.may_apply_from DESC, r.uscc LIMIT 1"), {"t": TODAY})[0]  # fmt: skip
    first = _publish(city, tmp_path)
    key = f"penalty|{department}|{reference}|{uscc}"
    assert rows(city["admin"], "SELECT 1 FROM ops.publication_state WHERE platform = 'province' AND item_key = %s",
                (key,)) or ("penalties", "upsert", key) in first  # fmt: skip
    base = ["repair", "file", "--department", department, "--uscc", uscc, "--record-type", "penalty",
            "--record", reference, "--grounds", "已全部整改并缴清罚款"]  # fmt: skip
    code, said = clerk(*base, "--date", (may_apply - dt.timedelta(days=2)).isoformat())
    assert code == 1 and f"the subject may apply from {may_apply}" in said, said
    early = re.search(r"filed: 信用修复申请 / repair application (\S+)", said).group(1)
    assert rows(city["admin"], "SELECT state, refusal_reason, may_apply_from FROM marts.fct_repair_applications"
                               " WHERE application_number = %s", (early,)) == [("refused", "too_early", may_apply)]
    code, said = clerk("repair", "decide", early, "--department", department, "--to", "accepted", "--by", "李",
                       "--why", "x", "--date", may_apply.isoformat())  # fmt: skip
    assert code == 1 and "is refused and cannot move to accepted" in said

    code, said = clerk(*base, "--date", may_apply.isoformat())
    assert code == 0, said
    number = re.search(r"filed: 信用修复申请 / repair application (\S+)", said).group(1)
    for to in ("accepted", "under_review", "upheld"):
        code, said = clerk("repair", "decide", number, "--department", department, "--to", to, "--by", "李科长",
                           "--why", f"{to}：整改到位", "--date", may_apply.isoformat())  # fmt: skip
        assert code == 0, said
    assert rows(city["admin"], "SELECT record_reference, repair_date::date FROM staging.stg_departments__credit_repairs"
                               " WHERE uscc = %s AND record_reference = %s",
                (uscc, reference)) == [(reference, may_apply)]  # fmt: skip
    _rebuild(city, "stg_departments__credit_repairs+")
    assert rows(city["admin"], "SELECT repaired_date FROM marts.fct_repairable_records WHERE uscc = %s"
                               " AND record_reference = %s", (uscc, reference)) == [(may_apply,)]  # fmt: skip
    sent = _publish(city, tmp_path)
    assert ("penalties", "withdraw", key) in sent and not [s for s in sent if s[2] == key and s[1] == "upsert"]
    code, said = clerk("repair", "decide", number, "--department", department, "--to", "answered", "--by", "李科长",
                       "--why", "书面答复", "--date", may_apply.isoformat())  # fmt: skip
    assert code == 0, said
    ((path,),) = rows(city["admin"], "SELECT pdf_path FROM ops.subject_letters WHERE case_number = %s", (number,))
    text = _pdf_text(Path(path))
    assert "信用修复申请答复书" in text and "准予信用修复" in text and _flat(reference) in text


def test_the_explanation_letter_states_the_explanation_rows(city, clerk, tmp_path):
    uscc, industry, period = rows(city["admin"], (
        "SELECT c.uscc, c.industry_code, c.to_period FROM marts.fct_grade_changes AS c"
        " JOIN marts.fct_grade_explanations AS e ON e.uscc = c.uscc AND e.industry_code = c.industry_code"
        "   AND e.evaluation_period = c.to_period AND e.line_kind = 'indicator'"
        "   AND cardinality(e.source_record_ids) > 0"
        " JOIN marts.dim_industries AS i ON i.industry_code = c.industry_code"
        " ORDER BY c.uscc LIMIT 1"))[0]  # fmt: skip
    code, said = clerk("letter", uscc, "--industry", industry, "--period", period)
    assert code == 0 and "1 份信用评价说明书" in said, said
    ((html_path, pdf_path),) = rows(city["admin"], "SELECT html_path, pdf_path FROM ops.subject_letters WHERE"
                                                   " letter_kind = 'explanation' AND uscc = %s AND industry_code = %s",
                                    (uscc, industry))  # fmt: skip
    html = Path(html_path).read_text(encoding="utf-8")
    cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", html, re.S)]
    lines = rows(city["admin"], "SELECT e.weight, e.points, e.detail, d.indicator_name"
                                " FROM marts.fct_grade_explanations AS e"
                                " JOIN marts.dim_indicators AS d USING (rule_version, industry_code, indicator_code)"
                                " WHERE e.uscc = %s AND e.industry_code = %s AND e.evaluation_period = %s"
                                " AND e.line_kind = 'indicator' ORDER BY e.line_number",
                 (uscc, industry, period))  # fmt: skip
    def reason(detail: str) -> str:  # the Chinese of an explanation line, without the names before ": "
        return detail.rsplit(" / ", 1)[0].split(": ", 1)[1]

    for weight, points, detail, name in lines:  # each indicator's row: name, weight, points, its reason
        i = cells.index(name)
        assert cells[i + 1:i + 3] == [f"{float(weight):g}", f"{float(points):g}"], (name, cells[i:i + 4])
        assert cells[i + 3].startswith(reason(detail)) and "record(s)" not in cells[i + 3], cells[i + 3]
    grade, cls, score, prev = rows(city["admin"], (
        "SELECT c.to_grade, c.to_class, c.to_score, c.from_grade FROM marts.fct_grade_changes AS c"
        " WHERE c.uscc = %s AND c.industry_code = %s AND c.to_period = %s"), (uscc, industry, period))[0]  # fmt: skip
    text = _pdf_text(Path(pdf_path))
    assert _flat(f"信用等级：{grade}（{cls}类") in text and _flat(f"得分：{float(score):g}") in text
    assert "上一评价期" in text and _flat(prev) in text
    levels = rows(city["admin"], "SELECT l.grade, l.lower_bound, l.upper_bound FROM marts.dim_grade_levels AS l"
                                 " JOIN marts.fct_industry_credit_grades AS g USING (rule_version) WHERE g.uscc = %s"
                                 " AND g.industry_code = %s AND g.evaluation_period = %s",
                  (uscc, industry, period))  # fmt: skip
    for g, low, high in levels:  # the cut points
        assert re.search(re.escape(g) + r"[A-D]类.*?" + re.escape(f"{float(low):g}") + "[≤<]得分≤"
                         + re.escape(f"{float(high):g}"), text), g
    for _w, _p, detail, _n in lines:  # the reasons
        assert _flat(reason(detail))[:30] in text
    # The records behind the points are named by their document numbers, not by internal ids.
    assert "raw." not in html and "batch" not in html
    # --changed writes one for every subject whose class changed, in its department's folder.
    changed = rows(city["admin"], "SELECT count(*) FROM marts.fct_grade_changes AS c JOIN marts.dim_industries AS i"
                                  " USING (industry_code) WHERE i.department_code = 'zjj' AND c.to_period = %s",
                   (period,))[0][0]  # fmt: skip
    code, said = clerk("letter", "--changed", "--department", "zjj", "--period", period, "--no-pdf")
    assert code == 0 and f"{changed} 份信用评价说明书" in said, said


def test_explain_shows_the_previous_grade_cut_points_and_how_to_object_or_repair(city, clerk, capsys):
    """``credit-platform explain`` states what the letter states: the previous period's grade and each
    indicator that moved, the cut points, the objection window (zjj's own term, counted in working
    days) and the records that may be repaired from when; every date YYYY-MM-DD, text and JSON."""
    uscc, industry, period, before_period, before_grade, department, rule = rows(city["admin"], (
        "SELECT g.uscc, g.industry_code, g.evaluation_period, p.evaluation_period, p.grade, i.department_code,"
        " g.rule_version FROM marts.fct_industry_credit_grades AS g"
        " JOIN marts.fct_industry_credit_grades AS p ON p.uscc = g.uscc AND p.industry_code = g.industry_code"
        "   AND p.evaluation_period < g.evaluation_period"
        " JOIN marts.dim_industries AS i ON i.industry_code = g.industry_code"
        " WHERE g.evaluation_period = (SELECT max(evaluation_period) FROM marts.fct_industry_credit_grades)"
        " AND g.score <> p.score AND EXISTS (SELECT FROM marts.fct_repairable_records AS r WHERE r.uscc = g.uscc"
        "   AND r.department_code = i.department_code AND r.repaired_date IS NULL"
        "   AND r.publication_end_date >= %(t)s)"
        " AND EXISTS (SELECT FROM marts.fct_grade_explanations AS e, unnest(e.source_record_ids) AS id"
        "   WHERE e.uscc = g.uscc AND e.industry_code = g.industry_code AND e.evaluation_period = g.evaluation_period"
        "   AND id LIKE 'raw.penalties/%%')"
        " ORDER BY g.uscc, g.industry_code LIMIT 1"), {"t": TODAY})[0]  # fmt: skip
    # A penalty behind the grade delivered with its date written 2025/3/4: explained as 2025-03-04.
    record = rows(city["admin"], "SELECT id FROM marts.fct_grade_explanations AS e, unnest(e.source_record_ids) AS id"
                                 " WHERE e.uscc = %s AND e.industry_code = %s AND e.evaluation_period = %s"
                                 " AND id LIKE 'raw.penalties/%%' ORDER BY id LIMIT 1",
                  (uscc, industry, period))[0][0]  # fmt: skip
    batch, row_number = (int(x) for x in record.split("/")[1:])
    ((delivered, decided),) = rows(city["admin"], "SELECT decision_date, ops.to_date(decision_date)"
                                                  " FROM raw.penalties WHERE batch_id = %s AND row_number = %s",
                                   (batch, row_number))  # fmt: skip
    rows(city["admin"], "UPDATE raw.penalties SET decision_date = %s WHERE batch_id = %s AND row_number = %s",
         (f"{decided.year}/{decided.month}/{decided.day}", batch, row_number))
    try:
        code, said = clerk("explain", uscc, "--industry", industry, "--period", period)
    finally:
        rows(city["admin"], "UPDATE raw.penalties SET decision_date = %s WHERE batch_id = %s AND row_number = %s",
             (delivered, batch, row_number))  # fmt: skip
    assert code == 0, said
    assert f"决定日期 {decided.isoformat()}" in said and f"{decided.year}/{decided.month}/" not in said
    # every date in one format: none written otherwise, each YYYY-MM-DD
    assert not re.search(r"\d{4}/\d{1,2}/\d{1,2}|\d{4}年\d{1,2}月\d{1,2}日|\d{4}\.\d{1,2}\.\d{1,2}", said), said
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in re.findall(r"(?<![\d-])\d{4}-\d{1,2}-\d{1,2}(?![\d-])",
                                                                               said))  # fmt: skip
    # the previous period and what changed, indicator by indicator
    ((before_score,),) = rows(city["admin"], "SELECT score FROM marts.fct_industry_credit_grades WHERE uscc = %s"
                                             " AND industry_code = %s AND evaluation_period = %s",
                              (uscc, industry, before_period))  # fmt: skip
    assert f"上一评价期 previous period {before_period}: 得分 {float(before_score):g}，等级 {before_grade}" in said
    moved = rows(city["admin"], (
        "SELECT d.indicator_name, coalesce(b.points, 0), n.points FROM marts.fct_grade_explanations AS n"
        " JOIN marts.dim_indicators AS d ON d.rule_version = %(r)s AND d.industry_code = n.industry_code"
        "   AND d.indicator_code = n.indicator_code"
        " LEFT JOIN marts.fct_grade_explanations AS b ON b.uscc = n.uscc AND b.industry_code = n.industry_code"
        "   AND b.evaluation_period = %(b)s AND b.line_kind = 'indicator' AND b.indicator_code = n.indicator_code"
        " WHERE n.uscc = %(u)s AND n.industry_code = %(i)s AND n.evaluation_period = %(p)s"
        " AND n.line_kind = 'indicator' AND abs(n.points - coalesce(b.points, 0)) >= 0.005"),
        {"r": rule, "b": before_period, "u": uscc, "i": industry, "p": period})  # fmt: skip
    assert moved and "变化 what changed:" in said
    for name, old, new in moved:
        assert f"    {name}: {float(old):g} → {float(new):g} ({float(new) - float(old):+g})" in said, name
    # the rule version's cut points
    for g, cls, low, high, inclusive in rows(city["admin"], "SELECT grade, grade_class, lower_bound, upper_bound,"
                                                            " is_lower_inclusive FROM marts.dim_grade_levels"
                                                            " WHERE rule_version = %s", (rule,)):  # fmt: skip
        assert re.search(rf"\n    {re.escape(g)} +{cls} 类（\S+） {float(low):g} {'≤' if inclusive else '<'} 得分 ≤"
                         rf" {float(high):g}\n", said), g
    # how and by when to object: the department's window in working days from today
    ((window,),) = rows(city["admin"], "SELECT objection_window_workdays FROM marts.dim_objection_settings"
                                       " WHERE department_code = %s", (department,))  # fmt: skip
    by = workdays.add_workdays(TODAY, window).isoformat()
    assert f"请于 {by} 前（自 {TODAY.isoformat()} 起 {window} 个工作日内）" in said
    assert f"by {by} ({window} working days from {TODAY.isoformat()})" in said
    # the records that may be repaired, from when
    repairable = rows(city["admin"], "SELECT record_type, record_reference, record_date, may_apply_from"
                                     " FROM marts.fct_repairable_records WHERE uscc = %s AND department_code = %s"
                                     " AND repaired_date IS NULL AND publication_end_date >= %s",
                      (uscc, department, TODAY))  # fmt: skip
    assert repairable
    for _kind, reference, date, may_apply in repairable:
        assert f"{reference}（{date.isoformat()}）：可自 {may_apply.isoformat()} 起申请" in said, reference
    # JSON: the same facts, one object per grade, dates YYYY-MM-DD
    capsys.readouterr()
    assert cli.main(["explain", uscc, "--format", "json"]) == 0
    grades = json.loads(capsys.readouterr().out)
    (mine,) = [g for g in grades if g["industry_code"] == industry]
    assert mine["previous"]["evaluation_period"] == before_period and mine["previous"]["grade"] == before_grade
    assert mine["objection_by"] == by and mine["objection_window_workdays"] == window
    assert {(r["decision_number"], r["from"]) for r in mine["repairable"]} == {
        (reference, may_apply.isoformat()) for _k, reference, _d, may_apply in repairable}
    assert [g["grade"] for g in mine["grade_levels"]] and {c["indicator_name"] for c in mine["changes"]} == {
        name for name, _o, _n in moved}
    dates = [s["loaded_on"] for ln in mine["lines"] for s in ln["sources"]] + [mine["objection_from"]]
    assert dates and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)


@pytest.mark.parametrize(("given", "says"), [
    ("91140681MA0K12348D", ("校验码", "check character")),  # one character wrong
    ("91140681MA0K1234", ("应为 18 位", "has 18 characters")),
    ("110101199003071234", ("居民身份证号码", "resident ID number")),  # a person, not an organisation
    ("11010119900307123", ("应为 18 位", "has 18 characters")),
    ("110101900307123", ("居民身份证号码", "resident ID number")),  # the old 15 digits
    ("91140681MA0K1234O8", ("不用的字符", "does not use")),
])  # fmt: skip
def test_explain_refuses_an_invalid_code_saying_what_to_do(clerk, given, says):
    code, said = clerk("explain", given)
    assert code == 1 and all(s in said for s in says) and "Traceback" not in said, said
    assert said.startswith("无法说明 / CANNOT EXPLAIN:") and "请" in said and ("check" in said or "give" in said)
    if "resident" in says[1]:
        assert given not in said  # a person's ID number is not repeated


def test_explain_names_a_code_the_warehouse_does_not_know(city, clerk):
    from credit_platform import uscc as credit_code

    unknown = credit_code.make("91", "140681", "MB7Q0001")
    assert credit_code.is_valid(unknown)
    assert not rows(city["admin"], "SELECT FROM marts.dim_subjects WHERE uscc = %s", (unknown,))
    code, said = clerk("explain", unknown)
    assert code == 1 and "Traceback" not in said, said
    assert f"数据仓库中没有统一社会信用代码为 {unknown} 的主体" in said
    assert f"no subject with the code {unknown} is in the warehouse" in said
    # a known subject asked for an industry it is not graded in is told so, also with status 1
    uscc = rows(city["admin"], "SELECT uscc FROM marts.fct_industry_credit_grades ORDER BY uscc LIMIT 1")[0][0]
    code, said = clerk("explain", uscc, "--period", "1999-H1")
    assert code == 1 and "no grade for 1999-H1" in said, said


def test_reply_deadlines_run_across_2027_on_the_configured_holiday_table(city, clerk, tmp_path, monkeypatch):
    """A holiday table for 2027 (a test's own, not the State Council's notice): 1, 4 and 5 January
    off. zjj's reply term made 30 working days; an objection received on Friday 2026-12-04."""
    uscc = rows(city["admin"], "SELECT uscc FROM marts.dim_subjects ORDER BY uscc LIMIT 1")[0][0]
    received = dt.date(2026, 12, 4)
    rows(city["admin"], "UPDATE marts.dim_objection_settings SET reply_workdays = 30 WHERE department_code = 'zjj'")
    code, said = clerk("objection", "file", "--department", "zjj", "--uscc", uscc, "--industry", "housing_construction",
                       "--period", "2025-H2", "--grounds", "x", "--date", received.isoformat(),
                       "--number", "YY-2027")  # fmt: skip
    assert code == 0, said

    def deadline() -> dt.date:
        return rows(city["admin"], "SELECT reply_deadline FROM marts.fct_objections"
                                   " WHERE objection_number = 'YY-2027'")[0][0]  # fmt: skip

    # Without a table for 2027 its working days are Monday to Friday: 19 in December, then 1 to 15 January.
    assert deadline() == dt.date(2027, 1, 15)
    table = tmp_path / "holidays.yml"
    table.write_text(json.dumps({"years": {2027: {"holidays": ["2027-01-01", "2027-01-04", "2027-01-05"]}}}),
                     encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("CREDIT_HOLIDAYS_FILE", str(table))
    migrate.migrate(city["url"])  # writes ops.work_calendar again
    assert workdays.add_workdays(received, 30) == dt.date(2027, 1, 20)
    assert deadline() == dt.date(2027, 1, 20)
    monkeypatch.delenv("CREDIT_HOLIDAYS_FILE")
    migrate.migrate(city["url"])
    assert deadline() == dt.date(2027, 1, 15)
    # The list shows it with that deadline, not yet overdue; then zjj's own term again.
    code, said = clerk("objection", "list", "--department", "zjj", "--json")
    listed = {r["objection_number"]: r for r in json.JSONDecoder().raw_decode(said)[0]}
    assert listed["YY-2027"]["reply_deadline"] == "2027-01-15" and listed["YY-2027"]["is_overdue"] is False
    rows(city["admin"], "UPDATE marts.dim_objection_settings SET reply_workdays = 15 WHERE department_code = 'zjj'")


def test_the_demo_takes_cases_through_every_state_and_counts_them(city, tmp_path):
    """The demo step (credit-platform demo): objections and repair applications in each state, the
    overdue ones among them, and the summary's table counting them per department."""
    from credit_platform.local import chain
    from credit_platform.local.reports import OBJECTION_PLAN, report_cases

    done = report_cases(city["url"], departments=("zjj", "scjgj"), outbox=tmp_path)
    assert done.objections == 2 * len(OBJECTION_PLAN) and done.repairs >= 2 and done.answers >= 4
    states = dict(rows(city["admin"], "SELECT state, count(*) FROM marts.fct_objections WHERE objection_number"
                                      " LIKE 'YY-%%-DEMO-%%' GROUP BY 1"))  # fmt: skip
    assert set(states) == {"received", "accepted", "under_review", "upheld", "answered"}, states
    assert rows(city["admin"], "SELECT count(*) FROM marts.fct_objections WHERE objection_number LIKE 'YY-%%-DEMO-%%'"
                               " AND is_overdue")[0][0] >= 2  # fmt: skip
    repairs = {s for (s,) in rows(city["admin"], "SELECT DISTINCT state FROM marts.fct_repair_applications"
                                                 " WHERE application_number LIKE 'XF-%%-DEMO-%%'")}  # fmt: skip
    assert {"refused", "answered"} <= repairs, repairs
    again = report_cases(city["url"], departments=("zjj", "scjgj"), outbox=tmp_path)  # a second run adds nothing
    assert (again.objections, again.repairs, again.steps) == (0, 0, 0)
    text = chain.summary(city["url"])
    assert "Objections and repair applications" in text and "  zjj        objection    " in text

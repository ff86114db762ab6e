"""Credit commitments (信用承诺): the letters a department hands its subjects, and the commitments
that are shared upward only with the subject's consent, on the shared graded city."""

from __future__ import annotations

import csv
import datetime as dt
import re
from importlib import resources
from pathlib import Path

import psycopg
import pypdf
import pytest
import yaml
from conftest import department_file
from sql import rows

from credit_platform import cli
from credit_platform.grade_levels import CLASSES
from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.loader import load_files
from credit_platform.local import chain
from credit_platform.local.reports import report_commitments
from credit_platform.publish import config, publish
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.supervision import letters
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

DEPARTMENT = "zjj"
ON = dt.date(2025, 12, 20)
HEADER = ["统一社会信用代码", "主体名称", "承诺类型", "承诺内容", "承诺日期", "是否同意公开", "履约状态",
          "承诺受理单位"]


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("commitments") as c:
        c["analyst"] = libpq_url(url_for("analyst", c["url"]))
        c["publisher"] = libpq_url(url_for("publisher", c["url"]))
        yield c


def _province_only() -> config.Config:
    """The shipped publication configuration with the province's file drop as the only platform."""
    data = yaml.safe_load(resources.files("credit_platform.publish").joinpath("publication.yml").read_text("utf-8"))
    data["platforms"] = {"province": data["platforms"]["province"]}
    return config.parse(data)


def _seed(city, name: str) -> list[dict]:
    with open(city["project"] / "seeds" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _flat(text: str) -> str:
    """Text without whitespace: a PDF breaks a table cell's text into lines where it wraps."""
    return re.sub(r"\s+", "", text)


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def _write(city, department: str, name: str, rows: list[list]) -> str:
    return department_file(city, department, name, HEADER, rows)


def _load_and_rebuild(city, rel: str) -> None:
    results, failures = load_files(libpq_url(url_for("loader", city["url"])), [rel], inbox=city["inbox"],
                                   archive_dir=city["archive"])  # fmt: skip
    assert not failures and results[0].rows_rejected == 0, (failures, results)
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "fct_commitments",
                   "fct_shared_records"], base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_a_letter_states_the_code_the_standards_and_the_measures_and_its_pdf_says_so(city, tmp_path):
    graded, ungraded = (rows(city["admin"], sql, (DEPARTMENT,))[0][0] for sql in (
        "SELECT s.uscc FROM marts.fct_supervision_scopes AS s JOIN marts.fct_industry_credit_grades AS g"
        " USING (uscc, industry_code) WHERE s.department_code = %s AND NOT s.is_deregistered ORDER BY 1 LIMIT 1",
        "SELECT s.uscc FROM marts.fct_supervision_scopes AS s WHERE s.department_code = %s AND NOT s.is_deregistered"
        " AND NOT EXISTS (SELECT 1 FROM marts.fct_industry_credit_grades AS g WHERE g.uscc = s.uscc"
        " AND g.industry_code = s.industry_code) ORDER BY 1 LIMIT 1"))  # fmt: skip
    done = letters.write(city["analyst"], city["publisher"], DEPARTMENT, tmp_path, on=ON, usccs=[graded, ungraded])
    assert (done.letters, done.pdfs) == (2, 2) and done.folder == tmp_path / "departments" / DEPARTMENT / (
        "commitment_letters_20251220")
    name, grade, score = rows(city["admin"], "SELECT d.subject_name, g.grade, g.score FROM marts.dim_subjects AS d"
                                             " JOIN marts.fct_industry_credit_grades AS g USING (uscc)"
                                             " JOIN marts.dim_industries AS i USING (industry_code)"
                                             " WHERE uscc = %s AND i.department_code = %s"
                                             " ORDER BY g.period_end_date DESC LIMIT 1",
                              (graded, DEPARTMENT))[0]  # fmt: skip
    text = _pdf_text(done.folder / f"{graded}.pdf")
    flat = _flat(text)
    assert f"统一社会信用代码：{graded}" in flat and _flat(name) in flat
    assert f"当前信用等级：{grade}" in flat and f"得分{float(score):g}" in flat
    assert "尚未评价" in _flat(_pdf_text(done.folder / f"{ungraded}.pdf"))
    # The standards: every grade of the rule version in force, with its bounds, as in the seed.
    version = next(v["rule_version"] for v in _seed(city, "rule_versions") if v["effective_from"] <= ON.isoformat())
    for level in (lv for lv in _seed(city, "grade_levels") if lv["rule_version"] == version):
        low, high = float(level["lower_bound"]), float(level["upper_bound"])
        sign = "≤" if level["is_lower_inclusive"] == "true" else "<"
        assert _flat(f"{level['grade']} {level['grade_class']} 类") in flat, level
        assert _flat(f"{low:g} {sign} 得分 ≤ {high:g}") in flat, level
    # The information used: the industry's indicators; the measures of every class of its list.
    industries = {i["industry_code"] for i in _seed(city, "industries") if i["department_code"] == DEPARTMENT}
    for indicator in _seed(city, "indicator_catalogue"):
        if indicator["rule_version"] == version and indicator["industry_code"] in industries:
            assert _flat(indicator["indicator_name"]) in flat, indicator["indicator_name"]
    mine = [m for m in _seed(city, "supervision_measures") if m["department_code"] == DEPARTMENT]
    assert {m["grade_class"] for m in mine} == set(CLASSES)
    for m in mine:
        assert _flat(m["measure_name"]) in flat, m["measure_name"]
    others = {m["measure_name"] for m in _seed(city, "supervision_measures")} - {m["measure_name"] for m in mine}
    assert not [m for m in others if _flat(m) in flat]  # no other department's measures
    # The consent clause and the return slip the clerk types in.
    number = f"XYCN-ZJJ-20251220-{graded}"
    assert "□同意□不同意将本承诺及其履约情况" in flat and "撤回" in flat
    assert _flat(f"{letters.COMMITMENT_CONTENT}（{number}）") in flat
    html = (done.folder / f"{graded}.html").read_text(encoding="utf-8")
    assert graded in html and "<script" not in html
    logged = rows(city["admin"], "SELECT uscc, commitment_type, rule_version, template, written_on,"
                                 " pdf_sha256 IS NOT NULL"
                                 " FROM ops.commitment_letters WHERE letter_number = %s", (number,))  # fmt: skip
    assert logged == [(graded, letters.COMMITMENT_TYPE, version, "commitment_letter.html", ON, True)]


def test_a_departments_own_template_and_refusals_that_name_the_problem(city, tmp_path, monkeypatch, capsys):
    own = tmp_path / "templates"
    own.mkdir()
    (own / f"commitment_letter_{DEPARTMENT}.html").write_text(
        "<p>{{ department_name }} 承诺书 {{ letter_number }}: {{ subject_name }} {{ uscc }}</p>", encoding="utf-8")
    (uscc,) = rows(city["admin"], "SELECT uscc FROM marts.fct_supervision_scopes WHERE department_code = %s"
                                  " AND NOT is_deregistered ORDER BY uscc DESC LIMIT 1", (DEPARTMENT,))[0]  # fmt: skip
    done = letters.write(city["analyst"], city["publisher"], DEPARTMENT, tmp_path, on=ON, usccs=[uscc.lower()],
                         templates=own, pdf=False)  # fmt: skip
    html = (done.folder / f"{uscc}.html").read_text(encoding="utf-8")
    assert html.startswith("<p>怀仁市住房和城乡建设局 承诺书 XYCN-ZJJ-") and uscc in html
    assert done.pdfs == 0 and not (done.folder / f"{uscc}.pdf").exists()
    assert rows(city["admin"], "SELECT template FROM ops.commitment_letters WHERE uscc = %s AND written_on = %s"
                               " AND department_code = %s", (uscc, ON, DEPARTMENT)) == [("commitment_letter_zjj.html",)]
    outside = rows(city["admin"], "SELECT uscc FROM marts.dim_subjects WHERE uscc NOT IN (SELECT uscc FROM"
                                  " marts.fct_supervision_scopes WHERE department_code = %s) LIMIT 1",
                   (DEPARTMENT,))[0][0]  # fmt: skip
    with pytest.raises(letters.LetterError, match=f"supervision scope.*{outside}"):
        letters.write(city["analyst"], city["publisher"], DEPARTMENT, tmp_path, on=ON, usccs=[outside])
    with pytest.raises(letters.LetterError, match="grades no industry"):
        letters.write(city["analyst"], city["publisher"], "nosuch", tmp_path, on=ON)
    with pytest.raises(letters.LetterError, match="no 评价规则 / rule version is in force on 2020-01-01"):
        letters.write(city["analyst"], city["publisher"], DEPARTMENT, tmp_path, on=dt.date(2020, 1, 1), usccs=[uscc])
    # The command line: a bad code or date is refused before anything is written.
    monkeypatch.setenv("WAREHOUSE_URL", city["url"])
    base = ["commitments", "letters", "--department", DEPARTMENT, "--out", str(tmp_path / "cli")]
    assert cli.main([*base, "--uscc", "91140681MA0K1234XX"]) == 2
    assert cli.main([*base, "--date", "2025-13-01"]) == 2
    assert "not a valid unified social credit code" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()
    assert cli.main([*base, "--uscc", uscc, "--date", ON.isoformat(), "--no-pdf"]) == 0
    assert (tmp_path / "cli" / "departments" / DEPARTMENT / "commitment_letters_20251220" / f"{uscc}.html").exists()


def test_only_consented_commitments_leave_and_a_withdrawn_consent_is_withdrawn(city, tmp_path):
    """Two signed letters come back, one consenting to publication: only that one reaches the
    platforms. Then its subject withdraws the consent: the platforms are told to withdraw it."""
    a, b = (u for (u,) in rows(city["admin"], "SELECT DISTINCT uscc FROM marts.fct_supervision_scopes WHERE"
                                              " department_code = %s AND NOT is_deregistered ORDER BY uscc LIMIT 2",
                                (DEPARTMENT,)))  # fmt: skip
    signed = [[a, "甲", letters.COMMITMENT_TYPE, "分级分类监管信用承诺", "2025-12-22", "是", "履约中", "住建局"],
              [b, "乙", letters.COMMITMENT_TYPE, "分级分类监管信用承诺", "2025-12-22", "否", "履约中", "住建局"]]
    _load_and_rebuild(city, _write(city, DEPARTMENT, "commitments_signed_1.csv", signed))
    key_a, key_b = (f"commitment|{DEPARTMENT}|{u}|{letters.COMMITMENT_TYPE}|2025-12-22" for u in (a, b))
    assert rows(city["admin"], "SELECT commitment_key, consent_to_publish FROM marts.fct_commitments"
                               " WHERE commitment_key = ANY(%s) ORDER BY 1", ([key_a, key_b],)) == sorted(
        [(key_a, True), (key_b, False)])  # fmt: skip
    assert run_checkpoint(city["publisher"], "marts").success
    cfg = _province_only()
    as_of = dt.date(2026, 1, 5)

    def held() -> set[str]:
        return {k for (k,) in rows(city["admin"], "SELECT item_key FROM ops.publication_state WHERE platform ="
                                                  " 'province' AND dataset = 'commitments'")}  # fmt: skip

    publish(city["publisher"], config=cfg, as_of=as_of, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
            sleep=lambda s: None)  # fmt: skip
    on_platform = held()
    assert key_a in on_platform and key_b not in on_platform
    consented = {k for (k,) in rows(city["admin"], "SELECT commitment_key FROM marts.fct_commitments"
                                                   " WHERE consent_to_publish AND commitment_type IS NOT NULL")}
    assert on_platform == consented  # every consented commitment, and nothing else
    with psycopg.connect(libpq_url(url_for("public_reader", city["url"]))) as conn:
        public = {r[0] for r in conn.execute("SELECT uscc FROM publish.public_commitments")}
    assert a in public and b not in public

    # The subject withdraws its consent: the same commitment sent again with 否.
    withdrawal = [[a, "甲", letters.COMMITMENT_TYPE, "分级分类监管信用承诺", "2025-12-22", "否", "履约中", "住建局"]]
    _load_and_rebuild(city, _write(city, DEPARTMENT, "commitments_signed_2.csv", withdrawal))
    publish(city["publisher"], config=cfg, as_of=as_of, outbox=tmp_path / "outbox", spool=tmp_path / "spool",
            sleep=lambda s: None)  # fmt: skip
    assert key_a not in held() and held() == on_platform - {key_a}
    actions = rows(city["admin"], "SELECT p.platform, i.action FROM ops.publication_batch_items AS i JOIN"
                                  " ops.publications AS p USING (publication_id) WHERE i.item_key = %s"
                                  " ORDER BY i.publication_id", (key_a,))  # fmt: skip
    assert ("province", "withdraw") in actions and actions.index(("province", "withdraw")) > actions.index(
        ("province", "upsert"))


def test_the_demo_step_writes_letters_and_loads_the_signed_ones(city, tmp_path):
    c = report_commitments(city["url"], sample=6, inbox=city["inbox"], outbox=tmp_path, project=city["project"])
    assert c.letters == c.pdfs == 6 and 0 < c.signed <= 6 and c.withdrawn == 1, c
    assert len(list(c.folder.glob("*.pdf"))) >= 6
    with psycopg.connect(city["admin"]) as conn:
        summary = {r[0]: r[1:] for r in conn.execute(chain._query("commitments"))}
    letters_, signed, consenting, total, consented, _held = summary[c.department]
    assert letters_ >= 6 and signed >= c.signed and consenting >= c.consenting and total >= consented
    text = chain.summary(city["url"])
    assert "Credit commitments (信用承诺" in text and re.search(rf"\n  {c.department} +{letters_} +{signed} ", text)

"""The demo data generator: reproducible, shaped as documented, defects exactly as the manifest says,
planted cases as defined. The files of the later department sources are read through the header
spellings, types and allowed values of the loader's ``sources.yml``."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

import credit_platform
from credit_platform import grade_levels as levels
from credit_platform import uscc
from credit_platform.demo.generate import (
    ADJUSTMENT_HEADER,
    COMMITMENT_HEADER,
    COMMITMENT_HEADER_JTJ,
    COMPLAINT_HEADER,
    COMPLAINT_HEADER_HOTLINE,
    DEFECT_KINDS,
    EXTERNAL_HEADER,
    EXTERNAL_HEADER_JTJ,
    INSPECTION_HEADER,
    INSPECTION_HEADER_SCJGJ,
    LICENCE_CODES,
    PENALTY_CODES,
    PENALTY_LABELS,
    PROVINCE_CSV_HEADER,
    REPAIR_HEADER,
    generate,
)
from credit_platform.settings import paths

N = 2000
RATE = 0.02
GRADES = levels.GRADES
BANDS = {lv.grade: (lv.lower_bound, lv.upper_bound) for lv in levels.levels()}  # seed grade_levels
USCC_KINDS = {"uscc_missing", "uscc_invalid_format", "uscc_invalid_checksum"}
DATE_KINDS = {"date_unparseable", "event_date_in_future"}
KINDS_BY_SOURCE = {
    "province_evaluation": USCC_KINDS | DATE_KINDS | {"grade_invalid"},
    "subject_register": USCC_KINDS | DATE_KINDS,
    "supervision_scope": USCC_KINDS | DATE_KINDS,
    "penalty": USCC_KINDS | DATE_KINDS | {"amount_negative"},
    "licence": USCC_KINDS | DATE_KINDS,
    "serious_dishonesty": USCC_KINDS | DATE_KINDS,
    "commendation": USCC_KINDS | DATE_KINDS,
    "inspector_roster": set(),
    "inspection_matter": set(),
    "commitment": USCC_KINDS | DATE_KINDS | {"value_not_allowed"},
    "inspection_result": USCC_KINDS | DATE_KINDS | {"value_not_allowed"},
    "credit_repair": USCC_KINDS | DATE_KINDS | {"value_not_allowed"},
    "complaint": USCC_KINDS | DATE_KINDS | {"value_not_allowed"},
    "external_grade": USCC_KINDS | DATE_KINDS | {"value_not_allowed"},
    "grade_adjustment": USCC_KINDS | DATE_KINDS,
}
# Per source: (USCC column, event-date column, amount column, grade column), by header name.
COLUMNS = {
    "province_evaluation": ("统一社会信用代码", "评价日期", None, "评价等级"),
    "subject_register": ("统一社会信用代码", "成立日期", None, None),
    "supervision_scope": ("统一社会信用代码", "纳入监管日期", None, None),
    "penalty": ("CF_XDR_SHXYM", "CF_JDRQ", "CF_NR_FK", None),
    "licence": ("XK_XDR_SHXYM", "XK_JDRQ", None, None),
    "serious_dishonesty": ("统一社会信用代码", "列入日期", None, None),
    "commendation": ("统一社会信用代码", "表彰日期", None, None),
    # the later sources, keyed by the first spelling of each column in sources.yml
    "commitment": ("统一社会信用代码", "承诺日期", None, None),
    "inspection_result": ("统一社会信用代码", "检查日期", None, None),
    "credit_repair": ("统一社会信用代码", "修复日期", None, None),
    "complaint": ("统一社会信用代码", "受理日期", None, None),
    "external_grade": ("统一社会信用代码", "评价日期", None, None),
    "grade_adjustment": ("统一社会信用代码", "审批日期", None, "调整后等级"),
}
LATER_SOURCES = ("commitment", "inspection_result", "credit_repair", "complaint", "external_grade",
                 "grade_adjustment")
# The later files for 2,000 subjects: source -> (file name, departments).
LATER_FILES = {
    "commitment": ("commitments.csv", {"scjgj", "zjj", "jtj", "wjj", "fgj"}),
    "inspection_result": ("inspection_results.csv", {"scjgj", "wjj", "zjj", "jtj", "sthjj", "yjj", "xfjy"}),
    "credit_repair": ("credit_repairs.csv", {"scjgj", "sthjj"}),
    "complaint": ("complaints.csv", {"scjgj", "wjj", "wlj", "jtj"}),
    "external_grade": ("external_grades.csv", {"fgj", "jtj"}),
    "grade_adjustment": ("grade_adjustments.csv", {"scjgj", "zjj", "sthjj"}),
}
# The departments writing the dept-bound later files supervise the subject (external grades are
# forwarded for subjects of any department).
SUPERVISED_SOURCES = ("commitment", "inspection_result", "credit_repair", "complaint", "grade_adjustment")
JSON_TO_CSV = {"subjectName": "企业名称", "creditCode": "统一社会信用代码", "evalGrade": "评价等级",
               "evalScore": "评价得分", "evalDate": "评价日期", "batchNo": "批次号"}
LABEL_TO_CODE = dict(zip(PENALTY_LABELS, PENALTY_CODES, strict=True))
UNIQUE_PER_FILE = {"province_evaluation", "subject_register", "supervision_scope", "serious_dishonesty"}


# ---------------------------------------------------------------------------------------------
# the loader's configuration of the later sources


def header_key(text) -> str:
    """Headers compared as the loader does: NFKC, trimmed, no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).strip().split()).casefold()


def code_of(value) -> str:
    """Enumeration cells compared as the loader does: NFKC and trimmed."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


SOURCES_YML = yaml.safe_load((Path(credit_platform.__file__).parent / "ingest" / "sources.yml").read_text("utf-8"))


def first_spelling(source: str, column: str) -> str:
    return str(SOURCES_YML[source]["columns"][column]["headers"][0])


def canonical_headers(source: str) -> dict[str, str]:
    """Every spelling of every column of the source -> the column's first spelling."""
    out = {}
    for spec in SOURCES_YML[source]["columns"].values():
        for h in spec["headers"]:
            out[header_key(h)] = str(spec["headers"][0])
    return out


def columns_of_type(source: str, *types: str) -> list[str]:
    return [str(c["headers"][0]) for c in SOURCES_YML[source]["columns"].values() if c["type"] in types]


def required_columns(source: str) -> list[str]:
    return [str(c["headers"][0]) for c in SOURCES_YML[source]["columns"].values() if c.get("required")]


def values_not_allowed(source: str, row: dict) -> list[str]:
    """The enumeration cells of the row outside their allowed values (sources.yml)."""
    bad = []
    for name, spec in SOURCES_YML[source]["columns"].items():
        if spec["type"] != "enum":
            continue
        if "values_by" in spec:
            by = spec["values_by"]
            allowed = by["values"].get(code_of(row[first_spelling(source, by["column"])]), [])
        else:
            allowed = spec["values"]
        if code_of(row[first_spelling(source, name)]) not in [str(v) for v in allowed]:
            bad.append(name)
    return bad


# ---------------------------------------------------------------------------------------------
# fixtures and readers


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    out = {}
    for name, seed in (("a", 42), ("b", 42), ("c", 43)):
        inbox = base / name / "inbox"
        if name == "b":  # a file the generator does not own survives a run
            (inbox / "province").mkdir(parents=True)
            (inbox / "province" / "someone_elses.csv").write_text("x\n", encoding="utf-8")
            (inbox / "province" / "province_evaluation_2025H1.csv").write_text("stale\n", encoding="utf-8")
        manifest = generate(inbox, base / name / "manifest.json", seed=seed, subjects=N, defect_rate=RATE)
        out[name] = (inbox, base / name / "manifest.json", manifest)
    return out


@pytest.fixture(scope="module")
def run(runs):
    return runs["a"]


@pytest.fixture(scope="module")
def tables(run):
    inbox, _, manifest = run
    return {path: read_rows(inbox, path, entry) for path, entry in manifest["files"].items()}


def read_rows(inbox: Path, path: str, entry: dict) -> list[dict]:
    """Data rows as dicts keyed by the CSV header (JSON keys and XLSX labels mapped to those)."""
    full = inbox / path
    if entry["format"] == "json":
        doc = json.loads(full.read_text(encoding="utf-8"))
        assert doc["total"] == len(doc["data"])
        return [{JSON_TO_CSV[k]: v for k, v in item.items()} for item in doc["data"]]
    if entry["format"] == "xlsx":
        import openpyxl

        ws = openpyxl.load_workbook(full)[entry["sheet"]]
        rows = list(ws.iter_rows(min_row=entry["header_row"], values_only=True))
        header = [LABEL_TO_CODE[h] for h in rows[0]]
        return [dict(zip(header, r, strict=True)) for r in rows[1:]]
    text = full.read_bytes().decode(entry["encoding"])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if entry["source"] in LATER_SOURCES:  # keyed by the first spelling; every header is a known spelling
        names = canonical_headers(entry["source"])
        header = next(csv.reader(io.StringIO(text, newline="")))
        assert all(header_key(h) in names for h in header), (path, header)
        rows = [{names[header_key(k)]: v for k, v in row.items()} for row in rows]
    return rows


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value or "").strip()
    for pattern in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})",
                    r"(\d{4})年(\d{1,2})月(\d{1,2})日"):
        m = re.fullmatch(pattern, s)
        if m:
            try:
                return date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


def amount(value) -> float:
    return float(value)


def grade_of(value) -> str:
    return unicodedata.normalize("NFKC", str(value))


def seeds():
    folder = paths().dbt_project / "seeds"
    with (folder / "departments.csv").open(encoding="utf-8") as fh:
        departments = {r["department_code"]: r for r in csv.DictReader(fh)}
    with (folder / "industries.csv").open(encoding="utf-8") as fh:
        industries = {r["industry_code"]: r["department_code"] for r in csv.DictReader(fh)}
    return departments, industries


def clean_rows(rows: list[dict], entry: dict) -> list[dict]:
    broken = {r for r, _ in entry["defect_rows"]}
    return [row for i, row in enumerate(rows, 1) if i not in broken]


# ---------------------------------------------------------------------------------------------
# reproducibility and layout


def test_same_seed_same_bytes_and_other_seed_differs(runs):
    (a, ma, man_a), (b, mb, _), (c, mc, _) = runs["a"], runs["b"], runs["c"]
    assert ma.read_bytes() == mb.read_bytes()
    for path in man_a["files"]:
        assert (a / path).read_bytes() == (b / path).read_bytes(), path
    assert ma.read_bytes() != mc.read_bytes()
    for path in ("province/province_evaluation_2025H1.csv", "departments/scjgj/subject_register.csv"):
        assert (a / path).read_bytes() != (c / path).read_bytes()


def test_same_bytes_under_another_hash_seed(runs, tmp_path):
    """Nothing depends on set or hash order: a fresh interpreter with another PYTHONHASHSEED agrees."""
    import os
    import subprocess
    import sys

    inbox, manifest_path, manifest = runs["a"]
    code = ("import sys; from pathlib import Path; from credit_platform.demo.generate import generate; "
            f"generate(Path(sys.argv[1]), Path(sys.argv[2]), seed=42, subjects={N}, defect_rate={RATE})")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "inbox"), str(tmp_path / "m.json")], env=env,
                   check=True)
    assert (tmp_path / "m.json").read_bytes() == manifest_path.read_bytes()
    for path in manifest["files"]:
        assert (tmp_path / "inbox" / path).read_bytes() == (inbox / path).read_bytes(), path


def test_rerun_touches_only_its_own_files(runs):
    inbox = runs["b"][0]
    assert (inbox / "province" / "someone_elses.csv").read_text(encoding="utf-8") == "x\n"
    assert not (inbox / "province" / "province_evaluation_2025H1.csv").read_bytes().startswith(b"stale")


def test_manifest_lists_every_file_and_its_shape(run):
    inbox, manifest_path, manifest = run
    text = manifest_path.read_text(encoding="utf-8")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    assert manifest["seed"] == 42 and manifest["subjects"] == N and manifest["defect_rate"] == RATE
    assert manifest["periods"] == {"2025-H1": "2025-06-30", "2025-H2": "2025-12-31"}
    departments, _ = seeds()
    expected = {"province/province_evaluation_2025H1.csv", "province/province_evaluation_2025H2.json",
                "departments/scjgj/subject_register.csv", "departments/fgj/serious_dishonesty_list.csv",
                "departments/fgj/commendations.csv", "departments/scjgj/penalties_2025H1.xlsx",
                "departments/scjgj/penalties_2025H2.xlsx"}
    for d in departments:
        expected |= {f"departments/{d}/supervision_scope.csv", f"departments/{d}/inspectors.csv",
                     f"departments/{d}/inspection_matters.csv"}
        if d != "scjgj":
            expected.add(f"departments/{d}/penalties_2025.csv")
    for name, depts in LATER_FILES.values():
        expected |= {f"departments/{d}/{name}" for d in depts}
    licences = {p for p in manifest["files"] if p.endswith("/licences_2025.csv")}
    assert 5 <= len(licences) <= 6
    assert set(manifest["files"]) == expected | licences
    written = {p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()}
    assert written == set(manifest["files"])
    for path, entry in manifest["files"].items():
        assert entry["source"] in KINDS_BY_SOURCE
        assert entry["format"] == path.rsplit(".", 1)[1]
        dept = path.split("/")[1] if path.startswith("departments/") else None
        assert entry["department_code"] == dept
    totals = manifest["totals"]
    assert totals["rows"] == sum(e["rows"] for e in manifest["files"].values())
    for kind in DEFECT_KINDS:
        assert totals["defects"][kind] == sum(e["defects"].get(kind, 0) for e in manifest["files"].values())


def test_row_counts_match_the_files(run, tables):
    manifest = run[2]
    for path, entry in manifest["files"].items():
        assert len(tables[path]) == entry["rows"], path
    files = manifest["files"]
    subjects = files["departments/scjgj/subject_register.csv"]["rows"]
    assert subjects == N
    for path in ("province/province_evaluation_2025H1.csv", "province/province_evaluation_2025H2.json"):
        assert 0.85 * N <= files[path]["rows"] <= 0.96 * N
    penalties = sum(e["rows"] for e in files.values() if e["source"] == "penalty")
    assert penalties == round(3000 * N / 30000)
    xlsx = sum(e["rows"] for e in files.values() if e["format"] == "xlsx")
    assert 0.35 * penalties <= xlsx <= 0.45 * penalties
    licences = sum(e["rows"] for e in files.values() if e["source"] == "licence")
    assert licences == round(5000 * N / 30000)


def test_encodings_and_line_endings(run):
    inbox, _, manifest = run
    for path, entry in manifest["files"].items():
        data = (inbox / path).read_bytes()
        if entry["encoding"] == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            first = ("序号,", "XK_XDR_MC,", "统一社会信用代码,", "投诉编号,", "工单编号,")
            assert data.decode("gb18030").startswith(first)
            assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
        elif entry["encoding"] == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
        elif entry["encoding"] == "utf-8":
            assert not data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
        else:
            assert entry["format"] == "xlsx" and data.startswith(b"PK")
    h1 = (inbox / "province/province_evaluation_2025H1.csv").read_bytes().decode("gb18030")
    assert h1.split("\r\n", 1)[0] == ",".join(PROVINCE_CSV_HEADER)
    lic = next(p for p in manifest["files"] if p.endswith("licences_2025.csv"))
    assert (inbox / lic).read_bytes().decode("gb18030").split("\r\n", 1)[0] == ",".join(LICENCE_CODES)
    pen = (inbox / "departments/zjj/penalties_2025.csv").read_bytes().decode("utf-8-sig")
    assert pen.split("\n", 1)[0] == ",".join(PENALTY_CODES)


def test_xlsx_layout(run):
    import openpyxl

    inbox, _, manifest = run
    for half, path in (("上半年", "departments/scjgj/penalties_2025H1.xlsx"),
                       ("下半年", "departments/scjgj/penalties_2025H2.xlsx")):
        wb = openpyxl.load_workbook(inbox / path)
        assert wb.sheetnames == ["行政处罚", "说明"]
        assert wb.properties.creator == "credit-platform demo"
        assert wb.properties.created == wb.properties.modified == datetime(2026, 1, 1)
        ws = wb["行政处罚"]
        assert [str(r) for r in ws.merged_cells.ranges] == ["A1:W1"]
        assert ws["A1"].value == f"怀仁市市场监督管理局行政处罚信息（2025年{half}）"
        assert all(c.value is None for c in ws[2])
        assert tuple(c.value for c in ws[3]) == PENALTY_LABELS
        assert ws.max_row == 3 + manifest["files"][path]["rows"]
        assert wb["说明"].max_row >= 3
        broken = {r for r, k in manifest["files"][path]["defect_rows"] if k in DATE_KINDS}
        for i, row in enumerate(ws.iter_rows(min_row=4, values_only=True), 1):
            decided = row[15]
            if i in broken:
                continue
            assert isinstance(decided, datetime)
            assert (decided.date() <= date(2025, 6, 30)) == (half == "上半年")
            assert isinstance(row[12], (int, float))


# ---------------------------------------------------------------------------------------------
# defects


def test_defect_counts_and_kinds(run):
    check_defect_counts(run[2]["files"], RATE)


def check_defect_counts(files: dict, rate: float) -> None:
    for path, entry in files.items():
        kinds = KINDS_BY_SOURCE[entry["source"]]
        assert set(entry["defects"]) == kinds, path
        expected = round(rate * entry["rows"]) if kinds else 0
        assert sum(entry["defects"].values()) == expected, path
        rows = entry["defect_rows"]
        assert rows == sorted(rows) and len({r for r, _ in rows}) == len(rows) == expected
        assert all(1 <= r <= entry["rows"] and k in kinds for r, k in rows)
        for kind in kinds:
            assert sum(1 for _, k in rows if k == kind) == entry["defects"][kind]
        if kinds and expected >= len(kinds):  # spread evenly
            assert max(entry["defects"].values()) - min(entry["defects"].values()) <= 1, path


def test_defect_rows_carry_their_defect(run, tables):
    check_defect_rows(run[2]["files"], tables)


def check_defect_rows(files: dict, tables: dict) -> None:
    for path, entry in files.items():
        if entry["source"] not in COLUMNS:
            continue
        code_col, date_col, amount_col, grade_col = COLUMNS[entry["source"]]
        rows = tables[path]
        for r, kind in entry["defect_rows"]:
            row = rows[r - 1]
            code = row[code_col] or ""
            if kind == "uscc_missing":
                assert code == ""
            elif kind == "uscc_invalid_format":
                assert not uscc.has_valid_shape(uscc.normalise(code))
            elif kind == "uscc_invalid_checksum":
                assert uscc.has_valid_shape(code) and not uscc.is_valid(code)
            else:
                assert uscc.is_valid(code)
            when = parse_date(row[date_col])
            if kind == "date_unparseable":
                assert when is None, (path, row[date_col])
                if entry["format"] == "xlsx":
                    assert isinstance(row[date_col], str)
            elif kind == "event_date_in_future":
                assert when is not None and when.year == 2099
            else:
                assert when is not None and when <= date(2025, 12, 31)
            if amount_col:
                assert (amount(row[amount_col]) < 0) == (kind == "amount_negative")
            if grade_col:
                assert (grade_of(row[grade_col]) not in GRADES) == (kind == "grade_invalid")
            if entry["source"] in LATER_SOURCES:
                bad = values_not_allowed(entry["source"], row)
                assert (len(bad) == 1) == (kind == "value_not_allowed") and len(bad) <= 1, (path, r, kind, bad)
                later_row_is_otherwise_sound(entry["source"], row, date_col, kind)


def later_row_is_otherwise_sound(source: str, row: dict, date_col: str, kind: str | None) -> None:
    """What no defect kind touches: required cells are filled (a missing USCC is its own kind), the
    other event dates are empty or readable and not in the future, periods and grades are right."""
    for col in required_columns(source):
        if col != COLUMNS[source][0] or kind != "uscc_missing":
            assert str(row[col] or "").strip(), (source, col, row)
    for col in columns_of_type(source, "event_date", "date"):
        if col != date_col and row[col]:
            when = parse_date(row[col])
            assert when is not None and when <= date(2025, 12, 31), (source, col, row[col])
    for col in columns_of_type(source, "period"):
        assert row[col] == "2025-H2"
    for col in columns_of_type(source, "grade"):
        assert grade_of(row[col]) in GRADES


def test_clean_rows_are_clean(run, tables):
    check_clean_rows(run[2]["files"], tables, run[2]["planted"])


def check_clean_rows(files: dict, tables: dict, planted_sets: dict) -> None:
    planted = set()
    for codes in planted_sets.values():
        planted |= set(codes)
    for path, entry in files.items():
        if entry["source"] not in COLUMNS:
            continue
        code_col, date_col, amount_col, grade_col = COLUMNS[entry["source"]]
        rows = tables[path]
        clean = clean_rows(rows, entry)
        codes = [row[code_col] for row in clean]
        assert all(uscc.is_valid(c) for c in codes), path
        if entry["source"] in UNIQUE_PER_FILE:
            assert len(set(codes)) == len(codes), path
        for row in clean:
            when = parse_date(row[date_col])
            assert when is not None and date(1995, 1, 1) <= when <= date(2025, 12, 31), (path, row[date_col])
            if amount_col:
                assert amount(row[amount_col]) >= 0
            if grade_col:
                assert grade_of(row[grade_col]) in GRADES
            if entry["source"] in LATER_SOURCES:
                assert values_not_allowed(entry["source"], row) == [], (path, row)
                later_row_is_otherwise_sound(entry["source"], row, date_col, None)
        for r, _ in entry["defect_rows"]:  # never a planted subject's row
            assert rows[r - 1][code_col] not in planted


def test_defective_codes_collide_with_no_subject(run, tables):
    codes = (row["统一社会信用代码"] for row in tables["departments/scjgj/subject_register.csv"])
    register = {c for c in codes if uscc.is_valid(c)}
    for path, entry in run[2]["files"].items():
        if entry["source"] not in COLUMNS:
            continue
        col = COLUMNS[entry["source"]][0]
        for r, kind in entry["defect_rows"]:
            if kind in USCC_KINDS:
                code = tables[path][r - 1][col]
                assert not uscc.is_valid(uscc.normalise(code or "")) and code not in register


# ---------------------------------------------------------------------------------------------
# content


def test_register_follows_the_2018_division_rule(run, tables):
    entry = run[2]["files"]["departments/scjgj/subject_register.csv"]
    rows = tables["departments/scjgj/subject_register.csv"]
    types = {"企业": "91", "个体工商户": "92", "农民专业合作社": "93", "事业单位": "12", "村集体经济组织": "N2"}
    statuses, old = [], 0
    for i, row in enumerate(rows, 1):
        kinds = {k for r, k in entry["defect_rows"] if r == i}
        if not kinds & USCC_KINDS:
            code = row["统一社会信用代码"]
            assert code[2:8] == row["登记机关区划"]
            prefix = types.get(row["主体类型"])
            assert code[:2] == prefix if prefix else code[:2] in ("51", "52", "53")
        if not kinds & DATE_KINDS:
            founded = parse_date(row["成立日期"])
            assert row["登记机关区划"] == ("140624" if founded < date(2018, 7, 1) else "140681")
        elif "event_date_in_future" in kinds:
            assert row["登记机关区划"] == "140681"
        statuses.append(row["登记状态"])
        if row["原注册号"]:
            old += 1
            assert re.fullmatch(r"\d{15}", row["原注册号"])
    assert set(statuses) == {"存续", "注销"}
    assert 0.02 * N <= statuses.count("注销") <= 0.06 * N
    assert 0.07 * N <= old <= 0.13 * N


def test_province_scores_match_grades(run, tables):
    for path in ("province/province_evaluation_2025H1.csv", "province/province_evaluation_2025H2.json"):
        entry = run[2]["files"][path]
        clean = clean_rows(tables[path], entry)
        for row in clean:
            lo, hi = BANDS[grade_of(row["评价等级"])]
            score = float(row["评价得分"])
            assert lo <= score <= hi and round(score, 1) == score
            assert str(row["批次号"]).endswith(("2025H1-001", "2025H2-001"))
        grades = [grade_of(r["评价等级"]) for r in clean]
        assert sum(g.startswith("B") for g in grades) > 0.6 * len(grades)
    h1 = tables["province/province_evaluation_2025H1.csv"]
    fullwidth = sum(1 for r in h1 if "\uff0b" in r["评价等级"] or "\uff0d" in r["评价等级"])
    assert fullwidth == run[2]["files"]["province/province_evaluation_2025H1.csv"]["variants"]["grade_fullwidth"]
    assert 0.004 * len(h1) <= fullwidth <= 0.02 * len(h1)


def test_scope_industries_belong_to_the_department(run, tables):
    departments, industries = seeds()
    seen: dict[str, list[str]] = {}
    for path, entry in run[2]["files"].items():
        if entry["source"] != "supervision_scope":
            continue
        dept = entry["department_code"]
        for row in tables[path]:
            assert industries[row["行业代码"]] == dept
            if row["统一社会信用代码"]:
                seen.setdefault(row["统一社会信用代码"], []).append(dept)
    register = tables["departments/scjgj/subject_register.csv"]
    listed = [c for c in (r["统一社会信用代码"] for r in register) if c and uscc.is_valid(c)]
    scope_defects = sum(len(e["defect_rows"]) for e in run[2]["files"].values() if e["source"] == "supervision_scope")
    assert len([c for c in listed if c not in seen]) <= scope_defects
    two = sum(1 for depts in seen.values() if len(depts) == 2)
    assert all(len(d) == len(set(d)) for d in seen.values())
    assert 0.10 * len(seen) <= two <= 0.20 * len(seen)


def test_penalties_only_for_supervised_subjects(run, tables):
    departments, _ = seeds()
    files = run[2]["files"]
    scope = {d: {r["统一社会信用代码"] for r in tables[f"departments/{d}/supervision_scope.csv"]}
             for d in departments}
    for path, entry in files.items():
        if entry["source"] not in ("penalty", "licence"):
            continue
        dept = entry["department_code"]
        prefix = "CF" if entry["source"] == "penalty" else "XK"
        for row in clean_rows(tables[path], entry):
            assert row[f"{prefix}_XDR_SHXYM"] in scope[dept]
            assert row[f"{prefix}_XDR_LB"] in ("法人及非法人组织", "个体工商户")
            organ = f"{prefix}_CFJG" if prefix == "CF" else "XK_XKJG"
            assert row[organ] == departments[dept]["department_name"]
            assert row[organ + "DM"] == departments[dept]["department_uscc"]
            if prefix == "CF":
                assert row["CF_FR_ZJLX"] == "身份证" and resident_id_ok(row["CF_FR_ZJHM"])
                decided = parse_date(row["CF_JDRQ"])
                assert date(2024, 7, 1) <= decided <= date(2025, 12, 31)
                assert parse_date(row["CF_YXQ"]) > decided and parse_date(row["CF_GSJZQ"]) > decided
                assert row["CF_CFLB"] in ("警告", "罚款", "没收违法所得", "责令停产停业", "暂扣或吊销许可证")
                if row["CF_CFLB"] == "警告":
                    assert amount(row["CF_NR_FK"]) == 0


def resident_id_ok(number: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    if not re.fullmatch(r"14(0681|0624)\d{11}[\dX]", number):
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(number[:17], weights, strict=True)) % 11] == number[17]


def test_inspectors_and_matters(run, tables):
    departments, industries = seeds()
    for d in departments:
        scope = {r["统一社会信用代码"] for r in tables[f"departments/{d}/supervision_scope.csv"]}
        inspectors = tables[f"departments/{d}/inspectors.csv"]
        assert 6 <= len(inspectors) <= 12
        for i, row in enumerate(inspectors, 1):
            assert row["执法人员编号"] == f"{d}-{i:03d}"
            assert re.fullmatch(r"140681\d{8}", row["执法证号"])
            conflicts = [c for c in row["回避主体统一社会信用代码"].split(";") if c]
            assert len(conflicts) <= 3 and all(c in scope for c in conflicts)
        matters = tables[f"departments/{d}/inspection_matters.csv"]
        own = [i for i, owner in industries.items() if owner == d]
        assert len(matters) == 2 * len(own)
        assert {r["行业代码"] for r in matters} == set(own)
        assert all(r["事项编码"] == f"{d}-{r['行业代码']}-0{k}" for r, k in zip(matters, [1, 2] * len(own),
                                                                              strict=True))


# ---------------------------------------------------------------------------------------------
# planted cases


def _codes(tables, files, source=None, path=None, col=None):
    out = set()
    for p, entry in files.items():
        if (source and entry["source"] == source) or p == path:
            c = col or COLUMNS[entry["source"]][0]
            out |= {r[c] for r in tables[p]}
    return out


def test_planted_sets_are_disjoint_and_nonempty(run):
    planted = run[2]["planted"]
    sets = {k: set(v) for k, v in planted.items()}
    assert set(sets) == {"serious_dishonesty", "commended_clean", "insufficient_data"}
    assert all(sets[k] and sorted(sets[k]) == planted[k] for k in sets)
    assert not (sets["serious_dishonesty"] & sets["commended_clean"])
    assert not (sets["serious_dishonesty"] & sets["insufficient_data"])
    assert not (sets["commended_clean"] & sets["insufficient_data"])


def test_planted_sets_meet_their_definitions(run, tables):
    files, planted = run[2]["files"], run[2]["planted"]
    register = {r["统一社会信用代码"]: r for r in tables["departments/scjgj/subject_register.csv"]}
    scope = _codes(tables, files, source="supervision_scope")
    penalised = _codes(tables, files, source="penalty")
    licensed = _codes(tables, files, source="licence")
    commended = _codes(tables, files, source="commendation")
    listed = {r["统一社会信用代码"]: r for r in tables["departments/fgj/serious_dishonesty_list.csv"]}
    grades = {}
    for p in ("province/province_evaluation_2025H1.csv", "province/province_evaluation_2025H2.json"):
        grades[p] = {r["统一社会信用代码"]: grade_of(r["评价等级"]) for r in tables[p]}
    h1, h2 = grades.values()

    for code in planted["serious_dishonesty"] + planted["commended_clean"] + planted["insufficient_data"]:
        assert register[code]["登记状态"] == "存续" and code in scope

    for code in planted["serious_dishonesty"]:
        entry = listed[code]
        on, off = parse_date(entry["列入日期"]), parse_date(entry["移出日期"])
        assert date(2024, 1, 1) <= on <= date(2025, 12, 31)
        assert off is None or date(2025, 1, 1) <= off <= date(2025, 12, 31)
        assert code in penalised
        assert h1[code] in ("D", "C-") and h2[code] in ("D", "C-")
    removed = sum(1 for c in planted["serious_dishonesty"] if listed[c]["移出日期"])
    assert 0 < removed < len(planted["serious_dishonesty"])

    for code in planted["commended_clean"]:
        assert h1[code] in ("A", "A-") and h2[code] in ("A", "A-")
        assert code in commended and code not in penalised and code not in listed

    for code in planted["insufficient_data"]:
        assert code not in h1 and code not in h2
        assert code not in penalised and code not in licensed and code not in commended and code not in listed


def test_list_and_commendations_shape(run, tables):
    files = run[2]["files"]
    listed = tables["departments/fgj/serious_dishonesty_list.csv"]
    assert len(listed) >= len(run[2]["planted"]["serious_dishonesty"])
    for row in clean_rows(listed, files["departments/fgj/serious_dishonesty_list.csv"]):
        off = parse_date(row["移出日期"])
        assert row["移出日期"] == "" or off > parse_date(row["列入日期"])
    rows = tables["departments/fgj/commendations.csv"]
    assert len(rows) == round(600 * N / 30000)
    assert {r["表彰级别"] for r in rows} <= {"国家级", "省级", "市级", "县级"}


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path / "inbox", tmp_path / "m.json", subjects=10)
    with pytest.raises(ValueError):
        generate(tmp_path / "inbox", tmp_path / "m.json", defect_rate=0.9)


def test_clean_rows_point_at_clean_subjects(run, tables):
    """Defects in the register and the scope files sit on subjects no other file needs, so a clean
    row elsewhere never depends on a rejected register or scope row."""
    files = run[2]["files"]
    register_path = "departments/scjgj/subject_register.csv"
    registered = {r["统一社会信用代码"] for r in clean_rows(tables[register_path], files[register_path])}
    scoped: dict[str, set[str]] = {}
    for path, entry in files.items():
        if entry["source"] == "supervision_scope":
            scoped[entry["department_code"]] = {r["统一社会信用代码"] for r in clean_rows(tables[path], entry)}
    for path, entry in files.items():
        if entry["source"] in COLUMNS and entry["source"] not in ("subject_register", "supervision_scope"):
            col = COLUMNS[entry["source"]][0]
            assert all(r[col] in registered for r in clean_rows(tables[path], entry)), path
        if entry["source"] in SUPERVISED_SOURCES:
            scope = scoped[entry["department_code"]]
            assert all(r["统一社会信用代码"] in scope for r in clean_rows(tables[path], entry)), path
        if entry["source"] == "inspector_roster":
            for row in tables[path]:
                assert all(c in registered for c in row["回避主体统一社会信用代码"].split(";") if c)


# ---------------------------------------------------------------------------------------------
# the later department files


def later(run, tables, source: str) -> dict[str, tuple[dict, list[dict], list[dict]]]:
    """department -> (manifest entry, all rows, clean rows) for one of the later sources."""
    out = {}
    for path, entry in run[2]["files"].items():
        if entry["source"] == source:
            out[entry["department_code"]] = (entry, tables[path], clean_rows(tables[path], entry))
    return out


def scope_rows(tables, dept: str) -> dict[str, set[str]]:
    """USCC -> the industries the department supervises it in (its scope file)."""
    out: dict[str, set[str]] = {}
    for r in tables[f"departments/{dept}/supervision_scope.csv"]:
        out.setdefault(r["统一社会信用代码"], set()).add(r["行业代码"])
    return out


def test_later_files_headers_and_sizes(run):
    inbox, _, manifest = run
    files = manifest["files"]
    headers = {
        "commitment": lambda d: COMMITMENT_HEADER_JTJ if d == "jtj" else COMMITMENT_HEADER,
        "inspection_result": lambda d: INSPECTION_HEADER_SCJGJ if d == "scjgj" else INSPECTION_HEADER,
        "credit_repair": lambda d: REPAIR_HEADER,
        "complaint": lambda d: COMPLAINT_HEADER if d == "scjgj" else COMPLAINT_HEADER_HOTLINE,
        "external_grade": lambda d: EXTERNAL_HEADER_JTJ if d == "jtj" else EXTERNAL_HEADER,
        "grade_adjustment": lambda d: ADJUSTMENT_HEADER,
    }
    rows: dict[str, int] = {}
    for path, entry in files.items():
        source = entry["source"]
        if source not in LATER_SOURCES:
            continue
        assert entry["format"] == "csv" and path.endswith(LATER_FILES[source][0])
        text = (inbox / path).read_bytes().decode(entry["encoding"])
        newline = "\r\n" if entry["encoding"] == "gb18030" else "\n"
        assert text.split(newline, 1)[0] == ",".join(headers[source](entry["department_code"])), path
        rows[source] = rows.get(source, 0) + entry["rows"]
    assert rows["commitment"] == round(3000 * N / 30000)
    assert rows["complaint"] == round(1800 * N / 30000)
    assert rows["external_grade"] == round(3300 * N / 30000) + round(150 * N / 30000)
    assert rows["grade_adjustment"] == 3 * 2
    assert 0.05 * N <= rows["inspection_result"] <= 0.1 * N
    assert 0 < rows["credit_repair"] < 0.3 * sum(e["rows"] for e in files.values() if e["source"] == "penalty")
    encodings = {e["encoding"] for e in files.values() if e["source"] in LATER_SOURCES}
    assert encodings == {"utf-8", "utf-8-sig", "gb18030"}
    assert sum(e["defects"].get("value_not_allowed", 0) for e in files.values()) > 0


def test_commitments(run, tables):
    for dept, (_, rows, clean) in later(run, tables, "commitment").items():
        scope = scope_rows(tables, dept)
        assert len(rows) > 0
        for row in clean:
            assert row["统一社会信用代码"] in scope
            signed = parse_date(row["承诺日期"])
            assert date(2024, 1, 1) <= signed <= date(2025, 12, 31)
            if row["履约状态"] == "履约中":
                assert row["履约认定日期"] == ""
            else:
                assert parse_date(row["履约认定日期"]) > signed
        statuses = [r["履约状态"] for r in clean]
        if len(clean) >= 30:
            assert statuses.count("已履约") > statuses.count("未履约")


def test_inspection_results_for_supervised_subjects_and_own_matters(run, tables):
    results = []
    for dept, (_, rows, clean) in later(run, tables, "inspection_result").items():
        scope = scope_rows(tables, dept)
        matters = {r["事项编码"]: r["行业代码"] for r in tables[f"departments/{dept}/inspection_matters.csv"]}
        roster: dict[str, list[dict]] = {}
        for r in tables[f"departments/{dept}/inspectors.csv"]:
            roster.setdefault(r["姓名"], []).append(r)
        assert all(r["事项编码"] in matters for r in rows)
        for row in clean:
            code = row["统一社会信用代码"]
            assert code in scope and matters[row["事项编码"]] in scope[code]
            assert date(2025, 1, 1) <= parse_date(row["检查日期"]) <= date(2025, 12, 31)
            assert row["任务编号"] == "" or re.fullmatch(rf"{dept}-2025-CC0[1-4]", row["任务编号"])
            team = row["检查人员"].split("、")
            assert len(team) == 2 and all(n in roster for n in team)
            for n in team:  # an inspector of that name without a conflict with the subject
                assert any(code not in p["回避主体统一社会信用代码"].split(";") for p in roster[n])
        results += [r["检查结果"] for r in clean]
    assert results.count("未发现问题") > 0.6 * len(results)


def test_repairs_name_clean_penalties_of_the_same_subject(run, tables):
    files = run[2]["files"]
    for dept, (_, rows, clean) in later(run, tables, "credit_repair").items():
        penalties = {}  # decision number -> (USCC, decision date) of the department's clean penalty rows
        for path, entry in files.items():
            if entry["source"] == "penalty" and entry["department_code"] == dept:
                for row in clean_rows(tables[path], entry):
                    penalties[row["CF_WSH"]] = (row["CF_XDR_SHXYM"], parse_date(row["CF_JDRQ"]))
        assert rows
        for row in rows:
            code, decided = penalties[row["原决定文书号"]]
            assert row["修复机关"] == seeds()[0][dept]["department_name"]
            if row in clean:
                assert row["统一社会信用代码"] == code and row["修复信息类别"] == "行政处罚"
                assert parse_date(row["修复日期"]) >= decided + (date(2025, 4, 1) - date(2025, 1, 1))
        assert len({r["修复决定文书号"] for r in rows}) == len(rows)


def test_complaints(run, tables):
    for dept, (_, rows, clean) in later(run, tables, "complaint").items():
        scope = scope_rows(tables, dept)
        assert len({r["投诉编号"] for r in rows}) == len(rows)
        for row in clean:
            assert row["统一社会信用代码"] in scope
            assert date(2025, 1, 1) <= parse_date(row["受理日期"]) <= date(2025, 12, 31)
        statuses = [r["办理状态"] for r in clean]
        assert statuses.count("已办结") > len(statuses) / 2


def test_external_grades(run, tables):
    found = later(run, tables, "external_grade")
    assert set(found) == {"fgj", "jtj"}
    systems = {"fgj": {"纳税信用", "环保信用"}, "jtj": {"公路建设市场信用"}}
    for dept, (_, rows, clean) in found.items():
        assert {r["评价体系"] for r in rows} == systems[dept]
        keys = [(r["统一社会信用代码"], r["评价体系"]) for r in clean]
        assert len(set(keys)) == len(keys)


def test_grade_adjustments_name_an_industry_of_the_department(run, tables):
    _, industries = seeds()
    planted = {c for codes in run[2]["planted"].values() for c in codes}
    found = later(run, tables, "grade_adjustment")
    assert set(found) == LATER_FILES["grade_adjustment"][1]
    for dept, (_, rows, clean) in found.items():
        scope = scope_rows(tables, dept)
        assert [r["调整编号"] for r in rows] == [f"{dept}-TZ-2025H2-{i:03d}" for i in range(1, len(rows) + 1)]
        for row in rows:
            assert industries[row["行业代码"]] == dept
            assert row["评价期"] == "2025-H2" and row["调整后等级"] in GRADES
            assert row["调整理由"] and row["审批人"]
        for row in clean:
            assert row["行业代码"] in scope[row["统一社会信用代码"]]
            assert row["统一社会信用代码"] not in planted
            assert date(2025, 12, 1) <= parse_date(row["审批日期"]) <= date(2025, 12, 31)


def test_later_files_keep_the_planted_cases(run, tables):
    """No later record for subjects with too little data; nothing negative for the commended ones."""
    planted = run[2]["planted"]
    thin, commended = set(planted["insufficient_data"]), set(planted["commended_clean"])
    good = {"纳税信用": {"A", "B"}, "环保信用": {"绿", "蓝"}, "公路建设市场信用": {"AA", "A"}}
    for source in LATER_SOURCES:
        for _, rows, _ in later(run, tables, source).values():
            for row in rows:
                code = row["统一社会信用代码"]
                assert code not in thin
                if code not in commended:
                    continue
                assert source not in ("complaint", "credit_repair", "grade_adjustment")
                if source == "commitment":
                    assert row["履约状态"] != "未履约"
                if source == "inspection_result":
                    assert row["检查结果"] == "未发现问题"
                if source == "external_grade":
                    assert row["评价结果"] in good[row["评价体系"]]


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """A city with many defects, so that every kind shows up in the later files: their manifest
    records, the rows and the clean rows."""
    base = tmp_path_factory.mktemp("dense")
    manifest = generate(base / "inbox", base / "manifest.json", seed=5, subjects=1500, defect_rate=0.3)
    files = {p: e for p, e in manifest["files"].items() if e["source"] in LATER_SOURCES}
    return manifest, files, {p: read_rows(base / "inbox", p, e) for p, e in files.items()}


def test_later_files_at_a_high_defect_rate(dense):
    manifest, files, tables = dense
    check_defect_counts(files, 0.3)
    check_defect_rows(files, tables)
    check_clean_rows(files, tables, manifest["planted"])
    by_source: dict[str, set[str]] = {}
    for entry in files.values():
        by_source.setdefault(entry["source"], set()).update(k for k, n in entry["defects"].items() if n)
    for source in ("commitment", "inspection_result", "complaint", "external_grade"):  # the larger ones
        assert by_source[source] == KINDS_BY_SOURCE[source], source
    for r, kind in files["departments/scjgj/commitments.csv"]["defect_rows"]:
        if kind == "event_date_in_future":  # the only future date of its row
            assert tables["departments/scjgj/commitments.csv"][r - 1]["履约认定日期"] == ""


def test_every_header_written_is_a_spelling_of_sources_yml(run):
    """The generator takes its headers from the loader's sources.yml: each header of each file is a
    spelling (compared as the loader compares them) of a column of the file's source, or of the
    department's own spellings; only the province CSV's row number (序号) is no column."""
    import openpyxl

    inbox, _, manifest = run
    for path, entry in manifest["files"].items():
        spec = SOURCES_YML[entry["source"]]
        known = {header_key(h) for c in spec["columns"].values() for h in c["headers"]}
        for extra in (spec.get("department_headers") or {}).get(entry["department_code"], {}).values():
            known |= {header_key(h) for h in extra}
        full = inbox / path
        if entry["format"] == "json":
            header = list(json.loads(full.read_text(encoding="utf-8"))["data"][0])
        elif entry["format"] == "xlsx":
            ws = openpyxl.load_workbook(full)[entry["sheet"]]
            header = [c.value for c in ws[entry["header_row"]]]
        else:
            header = next(csv.reader(io.StringIO(full.read_bytes().decode(entry["encoding"]), newline="")))
        header = [h for h in header if not (entry["source"] == "province_evaluation" and h == "序号")]
        assert header and all(header_key(h) in known for h in header), (path, header)

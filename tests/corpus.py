"""A corpus of bad or awkward input files for the loader, built by code at test time.

Each case is one small function that writes one file into an inbox and returns its path relative
to the inbox; the function's name is the case id and its docstring says what the file represents.
Files are deterministic (the same bytes on every run) and each case's bytes differ from every
other case's, so no file is taken for a duplicate of another. The outcomes the loader must give
are in ``tests/integration/test_corpus.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from credit_platform import uscc

GOOD = uscc.make("91", "140681", "MA0K1234")
OTHER = uscc.make("92", "140624", "L1234567")
THIRD = uscc.make("93", "140681", "MA0X7788")
FUJIAN_PILOT = "91350100M0001TGQXM"  # an early pilot code that fails the checksum (brief section 2)
DEPT = "scjgj"
AUTHORITY = "怀仁市市场监督管理局"

# The national field codes of a penalty file, in the order of the rows below.
CF = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_GSJZQ", "CF_CFJG"]
# The same columns under the Chinese labels of the standard.
CF_LABELS = ["行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "行政处罚决定书文号", "处罚类别",
             "罚款金额(万元)", "处罚决定日期", "公示截止期", "处罚机关"]  # fmt: skip
XK = ["XK_XDR_MC", "XK_XDR_LB", "XK_XDR_SHXYM", "XK_WSH", "XK_XKLB", "XK_JDRQ", "XK_YXQZ", "XK_YXQZI", "XK_XKJG"]
PROVINCE = ["序号", "企业名称", "统一社会信用代码", "评价等级", "评价得分", "评价日期", "批次号"]
ROSTER = ["执法人员编号", "姓名", "执法证号", "回避主体统一社会信用代码"]

FULL_WIDTH_GOOD = "".join(chr(ord(c) + 0xFEE0) for c in GOOD)  # ９１１４...
HYPHENATED_THIRD = f" {THIRD[:16]}-{THIRD[16:]} "  # the organisation code's check character after a hyphen
LEGAL = "法人及非法人组织"
TEN_MB = 10 * 1024 * 1024


def penalty(case: str, n: int, *, name: str = "怀仁市甲乙商贸有限公司", category: str = LEGAL, code: str = GOOD,
            kind: str = "罚款", fine: str = "0.5", decided: str = "2025-03-01", until: str = "2026-03-01") -> list[str]:
    """One penalty row in the order of ``CF``; the decision number names the case, so every case's bytes differ."""
    return [name, category, code, f"怀市监罚〔2025〕{case}-{n}号", kind, fine, decided, until, AUTHORITY]


def _path(inbox: Path, relative: str) -> Path:
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def csv_text(header: list[str] | None, rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(inbox: Path, relative: str, header: list[str] | None, rows: list[list[str]],
              encoding: str = "utf-8-sig") -> str:  # fmt: skip
    _path(inbox, relative).write_bytes(csv_text(header, rows).encode(encoding))
    return relative


def write_bytes(inbox: Path, relative: str, data: bytes) -> str:
    _path(inbox, relative).write_bytes(data)
    return relative


def write_xlsx(inbox: Path, relative: str, sheets: dict[str, list[list]], merge: dict[str, list[str]] | None = None,
               text_cells: bool = False) -> str:  # fmt: skip
    """A workbook with the given sheets (title -> rows), saved with a fixed timestamp so its bytes are stable.

    ``text_cells`` stores every string as a string cell, also one that starts with ``=`` (which
    openpyxl would otherwise write as a formula).
    """
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if text_cells and isinstance(value, str):
                    cell.data_type = "s"
        for ranges in (merge or {}).get(title, []):
            ws.merge_cells(ranges)
    fixed = dt.datetime(2025, 1, 1)
    wb.properties.created = fixed
    path = _path(inbox, relative)
    wb.save(path)
    _stable_zip(path, fixed)
    return relative


def _stable_zip(path: Path, when) -> None:
    """Rewrite a zip with fixed member timestamps and a fixed modification time in its properties
    (openpyxl stamps both with the time of saving)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as zin:
        members = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def _penalties(case: str, ext: str = "csv") -> str:
    return f"departments/{DEPT}/penalties_{case}.{ext}"


def _province(case: str, ext: str = "csv") -> str:
    return f"province/province_evaluation_{case}.{ext}"


CASES: dict[str, Callable[[Path], str]] = {}
def corpus_case(fn: Callable[[Path], str]) -> Callable[[Path], str]:
    """Register a case under its function's name."""
    CASES[fn.__name__] = fn
    return fn


# --- encodings -----------------------------------------------------------------------------------


@corpus_case
def gb18030_penalties(inbox: Path) -> str:
    """A department's CSV saved in GB18030 without a BOM (a character outside GBK in a name): detected, decoded."""
    case = "gb18030"
    rows = [penalty(case, 1), penalty(case, 2, name="怀仁市䶮鑫商贸有限公司", code=OTHER)]
    return write_csv(inbox, _penalties(case), CF, rows, encoding="gb18030")


@corpus_case
def gbk_province(inbox: Path) -> str:
    """A province push as CSV in GBK (what Excel on a Chinese Windows writes) with a title row: decoded as GB18030."""
    rows = [["1", "怀仁市甲乙商贸有限公司", GOOD, "A", "91.5", "2025-06-30", "P-GBK"],
            ["2", "怀仁市丙丁建筑工程有限公司", OTHER, "B-", "70", "2025-06-30", "P-GBK"]]  # fmt: skip
    text = csv_text(None, [["山西省公共信用综合评价结果（第三批）"]]) + csv_text(PROVINCE, rows)
    return write_bytes(inbox, _province("gbk"), text.encode("gbk"))


@corpus_case
def utf8_with_bom(inbox: Path) -> str:
    """UTF-8 with a byte-order mark before the header (Excel's "CSV UTF-8"): the BOM is not part of the header."""
    case = "utf8_bom"
    return write_csv(inbox, _penalties(case), CF, [penalty(case, 1)], encoding="utf-8-sig")


@corpus_case
def utf8_without_bom(inbox: Path) -> str:
    """UTF-8 without a BOM (what most scripts write)."""
    case = "utf8_nobom"
    return write_csv(inbox, _penalties(case), CF, [penalty(case, 1), penalty(case, 2, code=OTHER)], encoding="utf-8")


@corpus_case
def utf16_refused(inbox: Path) -> str:
    """Excel's "Unicode text" export: UTF-16 with its BOM, neither UTF-8 nor GB18030; refused."""
    case = "utf16"
    return write_bytes(inbox, _penalties(case), csv_text(CF, [penalty(case, 1)]).encode("utf-16"))


@corpus_case
def undecodable_bytes_refused(inbox: Path) -> str:
    """A header in UTF-8, then a row with bytes that neither UTF-8 nor GB18030 can decode (0xFF): refused."""
    case = "undecodable"
    head = csv_text(CF, [penalty(case, 1)]).encode("utf-8")
    return write_bytes(inbox, _penalties(case), head + b"\xff\xfe\xff," + b"x," * 7 + b"x\r\n")


# --- where the header is -------------------------------------------------------------------------


@corpus_case
def csv_title_rows(inbox: Path) -> str:
    """Two title rows (a caption and a date line) above the header of a CSV with a BOM."""
    case = "csv_title"
    text = csv_text(None, [["怀仁市市场监督管理局行政处罚信息公示表"], ["导出日期：2025年6月30日", "", ""]])
    text += csv_text(CF, [penalty(case, 1), penalty(case, 2, code=OTHER)])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8-sig"))


@corpus_case
def xlsx_title_rows(inbox: Path) -> str:
    """A province workbook with a title row and an empty row above the header."""
    rows = [["山西省公共信用综合评价结果（2025年第二批）"], [], PROVINCE,
            [1, "怀仁市甲乙商贸有限公司", GOOD, "A-", 88, "2025-07-31", "P-XLSX"],
            [2, "怀仁市丙丁建筑工程有限公司", OTHER, "C+", 60.5, "2025-07-31", "P-XLSX"]]  # fmt: skip
    return write_xlsx(inbox, _province("xlsx_title", "xlsx"), {"评价结果": rows})


@corpus_case
def xlsx_merged_title(inbox: Path) -> str:
    """A penalty workbook whose title is a merged cell across the header's width, two rows high."""
    case = "xlsx_merged"
    rows = [["怀仁市市场监督管理局行政处罚信息"], [], CF, penalty(case, 1), penalty(case, 2, code=OTHER)]
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": rows}, merge={"Sheet1": ["A1:I2"]})


@corpus_case
def xlsx_second_sheet(inbox: Path) -> str:
    """A workbook whose first sheet is a note for the reader and whose data is on the second sheet."""
    case = "xlsx_sheet2"
    note = [["填报说明"], ["1. 罚款金额单位为万元"], ["2. 日期格式为 yyyy-mm-dd"]]
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"说明": note, "处罚信息": [CF, penalty(case, 1)]})


@corpus_case
def header_below_search_window_refused(inbox: Path) -> str:
    """Sixteen lines of notes above the header: the header is not searched for that far down; refused."""
    case = "deep_header"
    text = csv_text(None, [[f"说明第{i}行"] for i in range(1, 17)]) + csv_text(CF, [penalty(case, 1)])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


@corpus_case
def semicolon_separated_refused(inbox: Path) -> str:
    """A file separated by semicolons (a European Excel's CSV): no header row is recognised; refused."""
    case = "semicolon"
    text = ";".join(CF) + "\r\n" + ";".join(penalty(case, 1)) + "\r\n"
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


# --- header spellings ----------------------------------------------------------------------------


@corpus_case
def shuffled_columns(inbox: Path) -> str:
    """The national columns in another order than the standard's: cells go by header, not by position."""
    case = "shuffled"
    order = [6, 2, 0, 8, 4, 3, 1, 7, 5]
    rows = [penalty(case, 1), penalty(case, 2, name="怀仁市丙丁建筑工程有限公司", code=OTHER, fine="2")]
    return write_csv(inbox, _penalties(case), [CF[i] for i in order], [[r[i] for i in order] for r in rows])


@corpus_case
def misspelt_required_header_quarantined(inbox: Path) -> str:
    """The decision date's header misspelt (CF_JDRQQ): a required column no spelling matches; every row
    is rejected for it and the raw quality gate quarantines the batch."""
    case = "misspelt_required"
    header = [h if h != "CF_JDRQ" else "CF_JDRQQ" for h in CF]
    return write_csv(inbox, _penalties(case), header, [penalty(case, 1)])


@corpus_case
def misspelt_optional_header(inbox: Path) -> str:
    """The authority's header misspelt (处罚机关名称): an optional column no spelling matches; it is ignored."""
    case = "misspelt_optional"
    header = [h if h != "CF_CFJG" else "处罚机关名称" for h in CF]
    return write_csv(inbox, _penalties(case), header, [penalty(case, 1), penalty(case, 2, code=OTHER)])


@corpus_case
def chinese_labels_fullwidth(inbox: Path) -> str:
    """The Chinese labels with full-width brackets and stray spaces, as departments type them."""
    case = "labels"
    header = [h.replace("(", "（").replace(")", "）") for h in CF_LABELS]
    header[0] = " 行政相对人 名称 "
    header[6] = "处罚决定日期　"  # an ideographic space
    return write_csv(inbox, _penalties(case), header, [penalty(case, 1), penalty(case, 2, code=OTHER, fine="1.2")])


# --- empty files ---------------------------------------------------------------------------------


@corpus_case
def empty_file_refused(inbox: Path) -> str:
    """A file of 0 bytes (an export that failed): refused as empty."""
    return write_bytes(inbox, _penalties("empty"), b"")


@corpus_case
def blank_lines_only_refused(inbox: Path) -> str:
    """A file of nothing but line breaks and spaces: refused as empty."""
    return write_bytes(inbox, _penalties("blank_lines"), b"\r\n\r\n   \r\n\n")


@corpus_case
def header_only(inbox: Path) -> str:
    """The header and no data rows (a department with nothing to report this month): loads, zero rows."""
    return write_csv(inbox, _penalties("header_only"), CF, [])


@corpus_case
def xlsx_header_only(inbox: Path) -> str:
    """A workbook with the header and no data rows: loads, zero rows."""
    return write_xlsx(inbox, _penalties("xlsx_header_only", "xlsx"), {"Sheet1": [CF_LABELS]})


# --- rows --------------------------------------------------------------------------------------


@corpus_case
def duplicated_rows(inbox: Path) -> str:
    """The same penalty row twice in one file: no rule forbids it, both load."""
    case = "dup_rows"
    row = penalty(case, 1)
    return write_csv(inbox, _penalties(case), CF, [row, row, penalty(case, 2, code=OTHER)])


@corpus_case
def province_duplicate_and_conflict(inbox: Path) -> str:
    """A province push with one subject twice on one date with the same grade (both load) and another
    subject twice on one date with different grades (both rejected: grade_conflict)."""
    rows = [["1", "甲", GOOD, "B", "75", "2025-06-30", "P-DUP"], ["2", "甲", GOOD, "B", "75", "2025-06-30", "P-DUP"],
            ["3", "乙", OTHER, "A", "92", "2025-06-30", "P-DUP"], ["4", "乙", OTHER, "C", "50", "2025-06-30", "P-DUP"],
            ["5", "乙", OTHER, "C", "50", "2025-03-31", "P-DUP"]]  # fmt: skip
    return write_csv(inbox, _province("conflict"), PROVINCE, rows)


@corpus_case
def province_grade_spellings(inbox: Path) -> str:
    """Province grades in lower case and padded (load), a level the scale does not have (A+), a class
    word (优), an empty grade, and a score in words."""
    rows = [["1", "甲", GOOD, "b+", "80", "2025-06-30", "P-G"], ["2", "乙", OTHER, "A+", "95", "2025-06-30", "P-G"],
            ["3", "丙", THIRD, "优", "95", "2025-06-30", "P-G"], ["4", "丁", GOOD, "B", "九十", "2025-05-30", "P-G"],
            ["5", "戊", OTHER, "", "60", "2025-05-30", "P-G"], ["6", "己", THIRD, " C- ", "", " 2025-05-30 ", "P-G"]]
    return write_csv(inbox, _province("grades"), PROVINCE, rows)


@corpus_case
def invalid_usccs(inbox: Path) -> str:
    """Credit codes that are wrong in every way: bad check character, too short, letters outside the
    alphabet (I, O), empty; one good row between them."""
    case = "bad_uscc"
    bad_check = GOOD[:17] + ("1" if GOOD[17] != "1" else "2")
    codes = [bad_check, GOOD[:17], "91140681MA0KI23O4X", "", OTHER]
    rows = [penalty(case, n, code=code) for n, code in enumerate(codes, start=1)]
    return write_csv(inbox, _penalties(case), CF, rows)


@corpus_case
def legacy_uscc(inbox: Path) -> str:
    """An early Fujian pilot code (35..., M000...) that fails the checksum: loads, flagged."""
    case = "legacy"
    return write_csv(inbox, _penalties(case), CF, [penalty(case, 1, name="福州某某有限公司", code=FUJIAN_PILOT)])


@corpus_case
def uscc_spellings_normalised(inbox: Path) -> str:
    """Codes in full-width digits, in lower case, with a hyphen in the organisation code and padded with
    spaces: all load under the normalised code, the original kept."""
    case = "uscc_spellings"
    rows = [penalty(case, 1, code=FULL_WIDTH_GOOD), penalty(case, 2, code=OTHER.lower()),
            penalty(case, 3, code=HYPHENATED_THIRD)]  # fmt: skip
    return write_csv(inbox, _penalties(case), CF, rows)


@corpus_case
def dates_future_and_forms(inbox: Path) -> str:
    """A decision date in the future (rejected), a publication end date far in the future (fine), dates
    written 2024年1月5日, 2024/1/5, 20240105 and as an Excel serial (45296), and a date that is no date."""
    case = "dates"
    rows = [penalty(case, 1, decided="2099-01-01"), penalty(case, 2, decided="2025-01-05", until="2099-12-31"),
            penalty(case, 3, decided="2024年1月5日"), penalty(case, 4, decided="2024/1/5"),
            penalty(case, 5, decided="20240105"), penalty(case, 6, decided="45296"),
            penalty(case, 7, decided="去年三月")]  # fmt: skip
    return write_csv(inbox, _penalties(case), CF, rows)


@corpus_case
def licence_validity_in_future(inbox: Path) -> str:
    """Licences valid until years ahead (fine) and one decided in the future (rejected)."""
    rows = [["怀仁市甲乙商贸有限公司", LEGAL, GOOD, "怀市监许〔2025〕1号", "普通", "2025-02-01", "2025-02-01",
             "2030-01-31", AUTHORITY],
            ["怀仁市丙丁建筑工程有限公司", LEGAL, OTHER, "怀市监许〔2025〕2号", "普通", "2026-12-01", "2026-12-01",
             "2031-11-30", AUTHORITY]]  # fmt: skip
    return write_csv(inbox, f"departments/{DEPT}/licences_future.csv", XK, rows)


@corpus_case
def amounts_negative_and_unparseable(inbox: Path) -> str:
    """Fines that are negative, written in words, with a unit in the cell, with a thousands separator, in
    full-width digits (beside a negative confiscated amount), or empty."""
    case = "amounts"
    rows = [penalty(case, 1, fine="-0.5"), penalty(case, 2, fine="五千元"), penalty(case, 3, fine="0.5万元"),
            penalty(case, 4, fine="1,000"), penalty(case, 5, fine="０.３"), penalty(case, 6, fine="")]  # fmt: skip
    return write_csv(inbox, _penalties(case), CF + ["CF_NR_WFFF"], [r + ["-1" if i == 5 else ""]
                                                                    for i, r in enumerate(rows, start=1)])  # fmt: skip


@cache
def big_facts() -> str:
    """10 MB (in UTF-8) of the facts of a penalty."""
    sentence = "经查，当事人在经营场所销售超过保质期的食品，违反了《中华人民共和国食品安全法》。"
    return (sentence * (TEN_MB // len(sentence.encode()) + 1))[: -(-TEN_MB // 3)]  # 3 bytes a character


@corpus_case
def ten_megabyte_cell(inbox: Path) -> str:
    """One penalty whose facts (CF_SY) are 10 MB of text: it loads whole."""
    case = "big_cell"
    rows = [penalty(case, 1) + [big_facts()], penalty(case, 2, code=OTHER) + ["当事人未按规定公示年度报告。"]]
    return write_csv(inbox, _penalties(case), CF + ["CF_SY"], rows, encoding="utf-8")


@corpus_case
def ten_megabyte_cell_python_path(inbox: Path) -> str:
    """The 10 MB facts cell in a file with a blank line, so it is parsed in Python: it loads whole."""
    case = "big_py"
    text = csv_text(CF + ["CF_SY"], [penalty(case, 1) + [big_facts()]]) + "\r\n"
    text += csv_text(None, [penalty(case, 2, code=OTHER) + ["当事人未按规定公示年度报告。"]])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "=1+1"]


@corpus_case
def formula_text_csv(inbox: Path) -> str:
    """Formula-like text in name and remark cells (a CSV injection attempt): stored verbatim as text."""
    case = "formulas"
    rows = [penalty(case, n, name=f, code=OTHER if n % 2 else GOOD) + [f] for n, f in enumerate(FORMULAS, start=1)]
    return write_csv(inbox, _penalties(case), CF + ["BZ"], rows)


@corpus_case
def formula_text_xlsx(inbox: Path) -> str:
    """Formula-like text stored as text cells of a workbook: read as the text, not evaluated."""
    case = "formulas_xlsx"
    rows = [CF + ["BZ"]] + [penalty(case, n, name=f) + [f] for n, f in enumerate(FORMULAS[:3], start=1)]
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": rows}, text_cells=True)


SQL_NAME = "'); DROP TABLE raw.penalties; --"
TRICKY_NAMES = [SQL_NAME, '怀仁市"老字号"饭店, 分店', "第一行\r\n第二行\n第三行",
                "Robert'); DELETE FROM ops.load_batches;--", "tab\there; semicolon", "\\N", "NULL"]  # fmt: skip


@corpus_case
def quotes_commas_line_breaks_sql(inbox: Path) -> str:
    """Names with SQL, quotes, commas, line breaks inside quoted cells, a tab, and the texts \\N and NULL
    (COPY's text-format null and the word): each stored verbatim."""
    case = "tricky_text"
    rows = [penalty(case, n, name=name) for n, name in enumerate(TRICKY_NAMES, start=1)]
    return write_csv(inbox, _penalties(case), CF, rows)


# --- damaged or mislabelled files ----------------------------------------------------------------


@corpus_case
def truncated_xlsx_refused(inbox: Path) -> str:
    """A workbook cut off half-way (an interrupted upload): refused as not a readable workbook."""
    case = "truncated"
    rel = write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": [CF, penalty(case, 1)]})
    path = inbox / rel
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return rel


@corpus_case
def csv_named_xlsx_refused(inbox: Path) -> str:
    """CSV text saved under a .xlsx name: refused as not a readable workbook."""
    case = "csv_as_xlsx"
    return write_bytes(inbox, _penalties(case, "xlsx"), csv_text(CF, [penalty(case, 1)]).encode("utf-8"))


@corpus_case
def xlsx_without_header_refused(inbox: Path) -> str:
    """A workbook with data but no recognisable header on any sheet: refused."""
    case = "xlsx_noheader"
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": [["a", "b", "c"], [1, 2, 3]], "Sheet2": []})


# --- who the rows are about ----------------------------------------------------------------------


@corpus_case
def natural_persons(inbox: Path) -> str:
    """Penalties on two natural persons (自然人, no credit code, an ID number; one category padded with spaces,
    one with a negative fine) between two companies: the persons' rows are kept whole in
    raw.protected_person_records, not validated, and counted as loaded and protected."""
    case = "persons"
    header = CF + ["CF_XDR_ZJLX", "CF_XDR_ZJHM"]
    rows = [penalty(case, 1) + ["", ""],
            penalty(case, 2, name="张三", category="自然人", code="") + ["身份证", "140681199001011234"],
            penalty(case, 3, name="李四", category=" 自然人 ", code="", fine="-1") + ["身份证", "14068119850505123X"],
            penalty(case, 4, code=OTHER) + ["", ""]]  # fmt: skip
    return write_csv(inbox, _penalties(case), header, rows)


# --- the shape of rows ---------------------------------------------------------------------------


@corpus_case
def ragged_rows(inbox: Path) -> str:
    """Rows with more cells than the header (rejected), trailing empty cells (fine), and fewer cells
    than the header: short of optional cells (loads) or of the decision date (rejected)."""
    case = "ragged"
    rows = [penalty(case, 1), penalty(case, 2) + ["多出来的内容"], penalty(case, 3) + ["", ""],
            penalty(case, 4)[:7], penalty(case, 5)[:6], penalty(case, 6, code=OTHER)]  # fmt: skip
    return write_csv(inbox, _penalties(case), CF, rows)


@corpus_case
def blank_line_in_the_middle(inbox: Path) -> str:
    """A blank line and a line of empty cells between data rows, so the file is parsed in Python: neither
    line is a row; quoted line breaks, quotes and SQL-like text in that path are kept verbatim too."""
    case = "blank_middle"
    text = csv_text(CF, [penalty(case, 1, name=TRICKY_NAMES[2]), penalty(case, 2, name=SQL_NAME)])
    text += "\r\n" + ",,,,,,,,\r\n" + csv_text(None, [penalty(case, 3, code=OTHER, fine="-3", name=TRICKY_NAMES[1])])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


@corpus_case
def title_with_line_break(inbox: Path) -> str:
    """A title row with a quoted line break (a wrapped caption) above the header."""
    case = "title_break"
    text = '"怀仁市市场监督管理局\n行政处罚信息"\r\n' + csv_text(CF, [penalty(case, 1), penalty(case, 2, code=OTHER)])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


@corpus_case
def header_repeated_mid_file(inbox: Path) -> str:
    """Two exports pasted together: the header line again between data rows. It is a row, rejected with
    every reason its cells give; the rows around it load."""
    case = "header_again"
    return write_csv(inbox, _penalties(case), CF, [penalty(case, 1), CF, penalty(case, 2, code=OTHER)])


@corpus_case
def nul_byte_in_cell(inbox: Path) -> str:
    """A NUL byte inside a name (from a C export): PostgreSQL text cannot hold it; it is dropped with a
    warning on its row and column, the row loads."""
    case = "nul"
    rows = [penalty(case, 1, name="怀仁市甲乙\x00商贸有限公司"), penalty(case, 2, code=OTHER)]
    return write_csv(inbox, _penalties(case), CF, rows)


@corpus_case
def xlsx_formula_without_value(inbox: Path) -> str:
    """A workbook whose fine is a formula saved without its result (written by a program, never opened in
    Excel): the cell reads empty, with a warning on its row and column; the rows load."""
    case = "formula_no_value"
    rows = [CF, penalty(case, 1), penalty(case, 2, fine="=0.25*2"), penalty(case, 3, fine="=1+1")]
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": rows})


# --- province JSON -------------------------------------------------------------------------------


@corpus_case
def json_wrapped_records(inbox: Path) -> str:
    """A province API response: the records inside {"code", "msg", "data": {"total", "records": [...]}},
    numbers as JSON numbers, a date written 2025年6月30日, one grade invalid."""
    records = [{"subjectName": "怀仁市甲乙商贸有限公司", "creditCode": GOOD, "evalGrade": "A", "evalScore": 93.5,
                "evalDate": "2025-06-30", "batchNo": "API-1"},
               {"subjectName": "怀仁市丙丁建筑工程有限公司", "creditCode": OTHER, "evalGrade": "B+", "evalScore": 81,
                "evalDate": "2025年6月30日", "batchNo": "API-1"},
               {"subjectName": "怀仁市戊己物流有限公司", "creditCode": THIRD, "evalGrade": "E", "evalScore": 10,
                "evalDate": "2025-06-30", "batchNo": "API-1"}]  # fmt: skip
    doc = {"code": 0, "msg": "success", "data": {"total": 3, "records": records}}
    return write_bytes(inbox, _province("api", "json"), json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))


@corpus_case
def json_invalid_refused(inbox: Path) -> str:
    """A JSON push cut off in the middle: not valid JSON; refused."""
    text = '{"code": 0, "data": [{"creditCode": "' + GOOD + '", "evalGrade": "A", "evalDate": "2025-06'
    return write_bytes(inbox, _province("broken", "json"), text.encode("utf-8"))


# --- dates in workbooks --------------------------------------------------------------------------


@corpus_case
def xlsx_serial_and_date_cells(inbox: Path) -> str:
    """Decision dates in a workbook as an Excel serial number (45296), a real date cell, a date-time cell,
    the text 2024年1月5日, and a serial in the future (rejected)."""
    import datetime as dt

    case = "xlsx_dates"
    rows = [CF]
    for n, when in enumerate([45296, dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 5, 9, 30), "2024年1月5日", 73051],
                             start=1):  # fmt: skip
        row: list = penalty(case, n)
        row[6] = when
        rows.append(row)
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": rows})


# --- registers -----------------------------------------------------------------------------------


@corpus_case
def inspector_roster(inbox: Path) -> str:
    """An inspector roster of a known department with conflict lists separated by ; ；and , and one empty."""
    rows = [["scjgj-101", "薛强", "14068120196056", f"{GOOD};{OTHER}"], ["scjgj-102", "赵霞", "14068120223980", ""],
            ["scjgj-103", "王磊", "14068120223981", f"{GOOD}；{THIRD}, {OTHER}"]]  # fmt: skip
    return write_csv(inbox, f"departments/{DEPT}/inspectors_corpus.csv", ROSTER, rows)


@corpus_case
def inspector_roster_unknown_department_refused(inbox: Path) -> str:
    """An inspector roster under a department folder no department has (departments/nosuchdept/): refused."""
    rows = [["x-001", "某某", "14068120190001", ""]]
    return write_csv(inbox, "departments/nosuchdept/inspectors.csv", ROSTER, rows)


@corpus_case
def subject_register_xlsx(inbox: Path) -> str:
    """A subject register workbook with date cells, an established date in the future (rejected), a
    subject outside the city (loads, flagged) and an old registration number."""
    import datetime as dt

    header = ["统一社会信用代码", "主体名称", "主体类型", "登记机关区划", "成立日期", "登记状态", "原注册号"]
    outside = uscc.make("91", "110105", "MA01AB12")
    rows = [header, [GOOD, "怀仁市甲乙商贸有限公司", "有限责任公司", "140681", dt.datetime(2015, 3, 2), "存续",
                     "140681200012345"],
            [outside, "北京某某科技有限公司", "有限责任公司", "110105", dt.datetime(2018, 7, 9), "存续", None],
            [OTHER, "怀仁市丙丁建筑工程有限公司", "有限责任公司", "140624", dt.datetime(2099, 1, 1), "注销", None]]
    return write_xlsx(inbox, f"departments/{DEPT}/subject_register_corpus.xlsx", {"登记信息": rows})


# --- pending: the loader does not yet do what the docstring says --------------------------------


@corpus_case
def title_line_break_python_path(inbox: Path) -> str:
    """A title row with a quoted line break, and a blank line among the data so the file is parsed in
    Python: the parser starts right after the header record, whatever lines the title spans."""
    case = "title_break_py"
    text = '"怀仁市市场监督管理局\n行政处罚信息"\r\n' + csv_text(CF, [penalty(case, 1), penalty(case, 2, code=OTHER)])
    text += "\r\n" + csv_text(None, [penalty(case, 3, code=THIRD)])
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


@corpus_case
def header_cell_with_line_break(inbox: Path) -> str:
    """A header cell wrapped with Alt+Enter in Excel ("罚款金额\\n(万元)", quoted): headers are read as records,
    and spellings are compared without spaces or line breaks, so it loads like the same header in a workbook."""
    case = "header_break"
    header = [h if h != "CF_NR_FK" else "罚款金额\n(万元)" for h in CF]
    return write_csv(inbox, _penalties(case), header, [penalty(case, 1), penalty(case, 2, code=OTHER)])


@corpus_case
def carriage_return_line_endings(inbox: Path) -> str:
    """Lines ended by CR alone (Excel for Mac's "CSV (Macintosh)"): read like LF or CRLF lines."""
    case = "cr_only"
    return write_bytes(inbox, _penalties(case), csv_text(CF, [penalty(case, 1)]).replace("\r\n", "\r").encode())


@corpus_case
def lines_of_empty_cells_at_the_end(inbox: Path) -> str:
    """Lines of nothing but commas after the data (a sheet's formatted empty rows): not rows, on the COPY
    path as in the Python parser and in workbooks."""
    case = "comma_lines"
    text = csv_text(CF, [penalty(case, 1)]) + ",,,,,,,,\r\n,,,,,,,,\r\n"
    return write_bytes(inbox, _penalties(case), text.encode("utf-8"))


@corpus_case
def xlsx_cell_beyond_the_header(inbox: Path) -> str:
    """A workbook row with a note in a column right of the header: row_too_many_cells, as the same row in a
    CSV gets, and the note is kept in the rejected row's record."""
    case = "xlsx_beyond"
    rows = [CF, penalty(case, 1), penalty(case, 2) + [None, "备注写在表外"]]
    return write_xlsx(inbox, _penalties(case, "xlsx"), {"Sheet1": rows})


@corpus_case
def json_empty_push(inbox: Path) -> str:
    """A province API response with an empty record list: a batch of 0 rows, as a header-only CSV gives."""
    return write_bytes(inbox, _province("empty", "json"), b'{"code": 0, "msg": "success", "data": []}')


@cache
def big_ascii_facts() -> str:
    """10 MB of ASCII text."""
    return ("The party sold food past its shelf life. " * (TEN_MB // 40 + 1))[:TEN_MB]


@corpus_case
def ten_megabyte_ascii_cell(inbox: Path) -> str:
    """10 MB of ASCII text in the facts of the first data row: the header search, which reads only the
    file's first 256 KB and so sees this cell cut off, copes, and the cell loads whole."""
    case = "big_ascii"
    rows = [penalty(case, 1) + [big_ascii_facts()], penalty(case, 2, code=OTHER) + ["Annual report not published."]]
    return write_csv(inbox, _penalties(case), CF + ["CF_SY"], rows, encoding="utf-8")

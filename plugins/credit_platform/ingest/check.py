"""Checking a file before it is sent: every problem with its row and column, in Chinese and English.

Uses exactly the loader's landing and validation (``stage.py``, ``validate.py``) in a transaction
that is rolled back, so ``check`` and the loader can never disagree. Exit status: 0 when no row has
an error, 1 when some rows would be rejected (or the whole file quarantined), 2 when the file cannot
be read or its kind cannot be told; warnings do not change it.

Each problem names the row as the clerk sees it in the sheet (``sheet_row``: title and header rows
counted; ``row`` is the data row, as the loader records it), the offending cell (``value``) and what
would be accepted (``expected_zh``/``expected_en``). What concerns the file rather than a row (a
heading the platform does not know, a required column missing) is reported once, with ``row`` null.
When the file's name does not tell its kind, the kind is told from its headings.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path, PurePosixPath

import psycopg
from psycopg import sql

from credit_platform.ingest import validate
from credit_platform.ingest.config import Column, Source, header_key, name_matches, rules, sources
from credit_platform.ingest.readers import HEADER_SEARCH_ROWS, UnreadableFile
from credit_platform.ingest.stage import stage_file
from credit_platform.ingest.values import GRADES, MESSAGES
from credit_platform.settings import today

MAX_SHOWN = 200  # problems listed in the text output


def zh_name(source: Source) -> str:
    """The source's Chinese name (its description without the English gloss)."""
    return source.description.split(" (")[0].replace(" and ", "与").strip() or source.name


def chinese_heading(column: Column) -> str:
    """The column's Chinese heading (its first spelling in Chinese, else its first spelling)."""
    return next((h for h in column.headers if any("\u4e00" <= ch <= "\u9fff" for ch in h)), column.headers[0])


def kinds_list() -> str:
    return "；".join(f"{s.name}（{zh_name(s)}）" for s in sources().values())


def guess_source(path: Path) -> Source | None:
    """The source whose file-name pattern matches (the folder does not matter when checking)."""
    for s in sources().values():
        if any(name_matches(path.name, PurePosixPath(p).name) for p in s.paths):
            return s
    return None


def department_of(path: Path) -> str | None:
    parts = path.resolve().parts
    if "departments" in parts:
        i = len(parts) - 1 - parts[::-1].index("departments")
        if i + 2 < len(parts):
            return parts[i + 1]
    return None


def head_rows(path: Path) -> list[list[str]]:
    """The first rows of the file as text (where a header is looked for); ``UnreadableFile`` if it cannot be read."""
    from credit_platform.ingest.readers import detect_encoding, read_json
    from credit_platform.ingest.stage import ENCODING_SAMPLE, _csv_head

    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return [r for r, _end in _csv_head(path, detect_encoding(path, sample=ENCODING_SAMPLE))]
    if suffix == ".json":
        return [read_json(path, lambda _row: 0).header]
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
            raise UnreadableFile(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
        try:
            return [["" if c is None else str(c) for c in row]
                    for ws in wb.worksheets for row in ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)]
        finally:
            wb.close()
    raise UnreadableFile(f"unsupported file type {suffix!r} (CSV, XLSX or JSON)")


def infer_source(rows: list[list[str]], department: str | None) -> tuple[Source | None, list[Source]]:
    """The source whose headings the file's header row matches best, or None and the tied candidates.

    Ranked by the columns recognised, then the required ones among them, then the share of the
    source's columns present; at least two columns must be recognised.
    """
    ranked = []
    for s in sources().values():
        spellings = s.spellings_for(department)
        best = (0, 0, 0.0)
        for row in rows:
            found = {spellings[k].name for k in (header_key(c) for c in row) if k in spellings}
            required = sum(1 for c in s.columns if c.required and c.name in found)
            best = max(best, (len(found), required, len(found) / len(s.columns)))
        if best[0] >= 2:
            ranked.append((best, s))
    if not ranked:
        return None, []
    ranked.sort(key=lambda x: x[0], reverse=True)
    top = [s for score, s in ranked if score == ranked[0][0]]
    return (top[0], []) if len(top) == 1 else (None, top)


def expected(code: str, column: Column | None, as_of: dt.date) -> tuple[str, str]:
    """What the cell would need to hold to be accepted, in Chinese and English."""
    grades = "、".join(GRADES)
    if code.startswith("uscc_"):
        return ("18位统一社会信用代码（数字和大写字母，不含 I、O、Z、S、V，末位为校验码）",
                "the 18-character unified social credit code (digits and capitals without I, O, Z, S, V; "
                "the last is the check character)")  # fmt: skip
    if column is not None and column.type == "enum" and column.values and code in ("value_not_allowed",
                                                                                   "required_missing"):  # fmt: skip
        values = "、".join(column.values)
        return f"下列之一：{values}", f"one of: {values}"
    if column is not None and column.type == "enum" and column.values_by and code == "value_not_allowed":
        other, allowed = column.values_by
        zh = "；".join(f"{k}：{'、'.join(v)}" for k, v in allowed.items())
        return f"随{other}而定 — {zh}", f"depends on the column {other}: {zh}"
    fixed = {
        "date_unparseable": ("日期，如 2026-03-15、2026/3/15 或 2026年3月15日",
                             "a date such as 2026-03-15, 2026/3/15 or 2026年3月15日"),
        "event_date_in_future": (f"不晚于 {as_of.isoformat()} 的日期", f"a date on or before {as_of.isoformat()}"),
        "amount_unparseable": ("不小于 0 的数字，如 5000 或 5,000.00", "a number not below 0, e.g. 5000 or 5,000.00"),
        "amount_negative": ("不小于 0 的数字，如 5000 或 5,000.00", "a number not below 0, e.g. 5000 or 5,000.00"),
        "score_unparseable": ("数字，如 86.5", "a number such as 86.5"),
        "grade_invalid": (f"九级等级之一：{grades}", f"one of the nine levels: {grades}"),
        "grade_class_word": (f"九级等级之一：{grades}", f"one of the nine levels: {grades}"),
        "period_invalid": ("YYYY、YYYY-H1/H2 或 YYYY-Q1..Q4，如 2026-H1",
                           "YYYY, YYYY-H1/H2 or YYYY-Q1..Q4, e.g. 2026-H1"),
        "penalty_category_unknown": ("下列之一（可用；分隔多个）：" + "；".join(rules().penalty_categories),
                                     "one or more of (separated by ;): " + ", ".join(rules().penalty_categories)),
        "grade_conflict": ("同一主体同一评价日期只报送一个等级", "one grade per subject and evaluation date"),
        "row_too_many_cells": ("不超过表头列数的单元格", "no more cells than the header has"),
        "required_missing": ("非空值", "a value"),
        "uscc_unresolved_registration": (
            "统一社会信用代码，或主体登记信息中已有的注册号、组织机构代码",
            "a credit code, or a registration number or organisation code in the register"),
    }  # fmt: skip
    return fixed.get(code, ("", ""))


def check_file(url: str, path: Path, *, kind: str | None = None, department: str | None = None,
               as_of: dt.date | None = None) -> tuple[dict, int]:  # fmt: skip
    """The report (the JSON shape of the README) and the exit status."""
    path = Path(path)
    as_of = as_of or today()
    department = department or department_of(path)
    report = {"file": str(path), "kind": kind, "kind_name": None, "kind_from": None, "rows_read": 0, "rows_ok": 0,
              "rows_not_returned": 0, "would_quarantine": False, "problems": []}  # fmt: skip
    if kind:
        source = sources().get(kind)
        if source is None:
            report["error_kind"] = "unknown_kind"
            report["error"] = f"未知类型 / unknown kind {kind!r}; 可选 / known: {kinds_list()}"
            return report, 2
        report["kind_from"] = "option"
    else:
        source = guess_source(path)
        report["kind_from"] = "file name" if source else None
    if source is None:
        try:
            source, tied = infer_source(head_rows(path), department)
        except (UnreadableFile, OSError) as exc:
            report["error_kind"], report["error"] = "unreadable", str(exc)
            return report, 2
        if source is None:
            report["error_kind"] = "unknown_kind"
            between = f"（可能是 / it could be: {', '.join(s.name for s in tied)}）" if tied else ""
            report["error"] = ("无法判断这是哪类文件" + between + "；请按规定命名文件，或用 --kind 指定"
                               " / cannot tell what this file is; name it as agreed, or give --kind."
                               f" 可选 / known kinds: {kinds_list()}")  # fmt: skip
            return report, 2
        report["kind_from"] = "headers"
    report["kind"], report["kind_name"] = source.name, zh_name(source)
    with psycopg.connect(url) as conn:  # a warehouse that cannot be reached is not the file's fault
        try:
            landed = stage_file(conn, source, path, department)
            blanks = validate.build(conn, source, landed, department=department, as_of=as_of, rules=rules())
            not_returned = validate.not_returned(conn)
            rows = conn.execute(sql.SQL(
                "SELECT i.row_number, i.reasons, i.flags, to_jsonb(s) FROM {} i JOIN {} s USING (row_number)"
                " WHERE i.reasons <> '{{}}' OR i.flags <> '{{}}' ORDER BY i.row_number").format(
                sql.Identifier(validate.ISSUES), landed.relation)).fetchall()  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - as the loader: whatever stops reading the file
            if conn.broken or _warehouse_fault(exc):  # not the file's fault: say so, not "export it again"
                cause = _cause(exc).splitlines()[0]
                raise RuntimeError(f"数据仓库不可用，文件未检查 / the warehouse could not check the file ({cause});"
                                   " 请先运行 / run first: make warehouse") from exc  # fmt: skip
            report["error_kind"], report["error"] = "unreadable", _cause(exc)
            return report, 2
        finally:
            conn.rollback()
    headers = {name: landed.header[pos] for name, pos in landed.positions.items()}
    uscc_column = next((c.name for c in source.columns if c.type == "uscc"), None)
    problems = _file_problems(source, landed, department)
    bad_rows = 0
    for row, reasons, flags, cells in rows:
        reasons = [r for r in reasons if not r.startswith("required_column_missing@")]  # said once, for the file
        if reasons:
            bad_rows += 1
        for item, severity in [(r, "error") for r in reasons] + [(f, "warning") for f in flags]:
            code, _, column = item.partition("@")
            if severity == "warning" and not column:  # the credit code's warnings name no column
                column = uscc_column or ""
            zh, en, _ = MESSAGES.get(code, (code, code, severity))
            col = source.column(column) if column not in ("", "row") else None
            exp_zh, exp_en = expected(code, col, as_of)
            problems.append({
                "row": row,
                "sheet_row": landed.sheet_row(row),
                "column": None if column in ("", "row") else headers.get(column, column),
                "value": None if col is None else cells.get(column),
                "severity": severity,
                "code": code,
                "message_zh": zh,
                "message_en": en,
                "expected_zh": exp_zh,
                "expected_en": exp_en,
            })  # fmt: skip
    rows_read = landed.rows_in - blanks - not_returned  # rows of empty cells are not rows; unreturned ones wait
    missing = any(p["code"] == "required_column_missing" for p in problems)
    if missing:
        bad_rows = rows_read
    from credit_platform.quality.raw_gate import max_rejected_share

    share = max_rejected_share()
    over = bool(rows_read) and bad_rows / rows_read > share
    report.update(rows_read=rows_read, rows_ok=rows_read - bad_rows, rows_not_returned=not_returned,
                  problems=problems, would_quarantine=missing or over, max_rejected_share=share,
                  header_row=landed.header_row, sheet=landed.sheet)  # fmt: skip
    return report, (1 if bad_rows or missing else 0)


def _file_problems(source: Source, landed, department: str | None) -> list[dict]:
    """Headings the platform does not know (with the closest known one) and required columns missing: once each."""
    out = []
    spellings = source.spellings_for(department)
    known = {}  # header key -> the spelling as written in sources.yml
    for c in source.columns:
        for h in c.headers:
            known.setdefault(header_key(h), h)
    for extra in (source.department_headers.get(department) or {}).values():
        for h in extra:
            known.setdefault(header_key(h), h)
    for i, (heading, column) in enumerate(zip(landed.header, landed.columns, strict=True)):
        if column.startswith("x") and column[1:].isdigit() and heading.strip() and header_key(heading) not in spellings:
            close = difflib.get_close_matches(header_key(heading), list(known), n=1, cutoff=0.6)
            hint = known[close[0]] if close else None
            out.append({
                "row": None, "sheet_row": landed.header_row or None, "column": heading, "column_number": i + 1,
                "value": heading, "severity": "warning", "code": "unknown_header",
                "message_zh": "表头未识别，该列不会装载" + (f"；是否应为「{hint}」？" if hint else ""),
                "message_en": "unknown heading: this column will not be loaded"
                              + (f"; did you mean {hint!r}?" if hint else ""),
                "expected_zh": f"已知表头，如「{hint}」" if hint else "本类文件的已知表头",
                "expected_en": f"a known heading such as {hint!r}" if hint else "a heading of this kind of file",
                "suggestion": hint,
            })  # fmt: skip
    for c in source.columns:
        if c.required and c.name not in landed.positions:
            names, zh = "、".join(c.headers[:3]), chinese_heading(c)
            out.append({
                "row": None, "sheet_row": landed.header_row or None, "column": zh, "value": None,
                "severity": "error", "code": "required_column_missing",
                "message_zh": f"缺少必填列「{zh}」，整个文件将被隔离、不参与评价",
                "message_en": f"the required column {zh} ({c.name}) is missing: the whole file would be quarantined",
                "expected_zh": f"表头中有此列（可写作：{names}）", "expected_en": f"a column headed one of: {names}",
            })  # fmt: skip
    return out


# SQLSTATE classes that say something about the warehouse, never about a file: connection (08),
# authorisation (28), a missing database, schema, function or privilege (3D, 3F, 42), resources (53), operator
# intervention (57), system (58), internal (XX).
_WAREHOUSE_CLASSES = ("08", "28", "3D", "3F", "42", "53", "57", "58", "XX")


def _warehouse_fault(exc: Exception) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, psycopg.Error) and state[:2] in _WAREHOUSE_CLASSES


def _cause(exc: Exception) -> str:
    """The loader's own refusal by its message; anything else (a damaged file tripping a parser) with its type."""
    text = str(exc).strip() or repr(exc)
    return text if isinstance(exc, (UnreadableFile, OSError)) else f"{type(exc).__name__}: {text}"


def render_text(report: dict) -> str:
    lines = [f"文件 File: {report['file']}"]
    if report.get("kind_name"):
        told = {"headers": "（由表头判断 / told by its headings）", "file name": "", "option": ""}
        lines.append(f"类型 Kind: {report['kind_name']} ({report['kind']}){told.get(report['kind_from'], '')}")
    if "error" in report:
        if report.get("error_kind") == "unknown_kind":
            lines.append(f"无法判断文件类型 Cannot tell what this file is: {report['error']}")
            lines.append("结论 Verdict: 请按规定命名文件或用 --kind 指定类型后再检查"
                         " / name the file as agreed or give --kind, then check it again")  # fmt: skip
        else:
            lines.append(f"无法读取 Cannot read the file: {report['error']}")
            lines.append("结论 Verdict: 文件无法读取，请检查后重新导出 / the file cannot be read; export it again")
        return "\n".join(lines)
    if report.get("sheet"):
        lines.append(f"工作表 Sheet: {report['sheet']}，表头在第 {report['header_row']} 行 / header on row"
                     f" {report['header_row']}")  # fmt: skip
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    lines.append(f"读取 {report['rows_read']} 行，合格 {report['rows_ok']} 行 / "
                 f"{report['rows_read']} rows read, {report['rows_ok']} rows ok")  # fmt: skip
    if report.get("rows_not_returned"):
        n = report["rows_not_returned"]
        lines.append(f"尚未回填 {n} 行（不拒收，可在以后的文件中回填）/ {n} rows not yet returned (not rejected;"
                     " return them in a later file)")  # fmt: skip
    for p in report["problems"][:MAX_SHOWN]:
        level = "错误 error" if p["severity"] == "error" else "提示 warning"
        where = f"第 {p['sheet_row']} 行" if p.get("row") is not None else "表头 header"
        col = f"，列「{p['column']}」" if p["column"] else ""
        value = f"，值「{p['value']}」" if p.get("value") not in (None, "") and p["code"] != "unknown_header" else ""
        lines.append(f"  {where}{col}{value} [{level}] {p['message_zh']} / {p['message_en']} ({p['code']})")
        if p.get("expected_zh"):
            lines.append(f"      应为 expected: {p['expected_zh']} / {p['expected_en']}")
    if len(report["problems"]) > MAX_SHOWN:
        lines.append(f"  …… 另有 {len(report['problems']) - MAX_SHOWN} 条 / {len(report['problems']) - MAX_SHOWN} more")
    bad = report["rows_read"] - report["rows_ok"]
    if any(p["code"] == "required_column_missing" for p in report["problems"]):
        lines.append("结论 Verdict: 缺少必填列，整个文件将被隔离、不参与评价；请补上该列后重新报送"
                     " / a required column is missing: the whole file would be quarantined; add the column and send"
                     " it again")  # fmt: skip
    elif report.get("would_quarantine"):
        share = report.get("max_rejected_share", 0.2)
        lines.append(f"结论 Verdict: {bad} 行将被拒收，超过 {share:.0%}，整个文件将被隔离、不参与评价；请改正后报送"
                     f" / {bad} rows would be rejected, over {share:.0%}: the whole file would be quarantined;"
                     " correct it first")  # fmt: skip
    elif bad:
        lines.append(f"结论 Verdict: {bad} 行将被拒收，请改正后报送 / {bad} rows would be rejected; correct them first")
    else:
        note = f"（{len(warnings)} 条提示）" if warnings else ""
        lines.append(f"结论 Verdict: 可以报送{note} / the file can be sent ({len(warnings)} warnings)")
    return "\n".join(lines)

"""Checking a file before it is sent: every problem with its row and column, in Chinese and English.

Uses exactly the loader's landing and validation (``stage.py``, ``validate.py``) in a transaction
that is rolled back, so ``check`` and the loader can never disagree. Exit status: 0 when no row has
an error, 1 when some rows would be rejected, 2 when the file cannot be read; warnings do not
change it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePosixPath

import psycopg
from psycopg import sql

from credit_platform.ingest import validate
from credit_platform.ingest.config import Source, name_matches, rules, sources
from credit_platform.ingest.readers import UnreadableFile
from credit_platform.ingest.stage import stage_file
from credit_platform.ingest.values import MESSAGES
from credit_platform.settings import today


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


def check_file(url: str, path: Path, *, kind: str | None = None, department: str | None = None,
               as_of: dt.date | None = None) -> tuple[dict, int]:  # fmt: skip
    """The report (the JSON shape of the README) and the exit status."""
    path = Path(path)
    source = sources().get(kind) if kind else guess_source(path)
    report = {"file": str(path), "kind": source.name if source else kind, "rows_read": 0, "rows_ok": 0, "problems": []}
    if source is None:
        known = ", ".join(sorted(sources()))
        report["error"] = (
            f"unknown kind {kind!r} (known: {known})" if kind else f"cannot tell the kind; use --kind ({known})"
        )
        return report, 2
    department = department or department_of(path)
    with psycopg.connect(url) as conn:  # a warehouse that cannot be reached is not the file's fault
        try:
            landed = stage_file(conn, source, path, department)
            blanks = validate.build(conn, source, landed, department=department, as_of=as_of or today(),
                                    rules=rules())  # fmt: skip
            rows = conn.execute(sql.SQL(
                "SELECT row_number, reasons, flags FROM {} WHERE reasons <> '{{}}' OR flags <> '{{}}'"
                " ORDER BY row_number").format(sql.Identifier(validate.ISSUES))).fetchall()  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - as the loader: whatever stops reading the file
            if conn.broken or _warehouse_fault(exc):  # not the file's fault: say so, not "export it again"
                cause = _cause(exc).splitlines()[0]
                raise RuntimeError(f"数据仓库不可用，文件未检查 / the warehouse could not check the file ({cause});"
                                   " 请先运行 / run first: make warehouse") from exc  # fmt: skip
            report["error"] = _cause(exc)
            return report, 2
        finally:
            conn.rollback()
    headers = {name: landed.header[pos] for name, pos in landed.positions.items()}
    uscc_column = next((c.name for c in source.columns if c.type == "uscc"), None)
    problems, bad_rows = [], 0
    for row, reasons, flags in rows:
        if reasons:
            bad_rows += 1
        for item, severity in [(r, "error") for r in reasons] + [(f, "warning") for f in flags]:
            code, _, column = item.partition("@")
            if severity == "warning" and not column:  # the credit code's warnings name no column
                column = uscc_column or ""
            zh, en, _ = MESSAGES.get(code, (code, code, severity))
            problems.append({
                "row": row,
                "column": None if column in ("", "row") else headers.get(column, column),
                "severity": severity,
                "code": code,
                "message_zh": zh,
                "message_en": en,
            })  # fmt: skip
    rows_read = landed.rows_in - blanks  # rows of empty cells are not rows
    report.update(rows_read=rows_read, rows_ok=rows_read - bad_rows, problems=problems)
    return report, (1 if bad_rows else 0)


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
    lines = [f"文件 File: {report['file']}", f"类型 Kind: {report['kind']}"]
    if "error" in report:
        lines.append(f"无法读取 Cannot read the file: {report['error']}")
        lines.append("结论 Verdict: 文件无法读取，请检查后重新导出 / the file cannot be read; export it again")
        return "\n".join(lines)
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    lines.append(f"读取 {report['rows_read']} 行，合格 {report['rows_ok']} 行 / "
                 f"{report['rows_read']} rows read, {report['rows_ok']} rows ok")  # fmt: skip
    for p in report["problems"][:200]:
        level = "错误 error" if p["severity"] == "error" else "提示 warning"
        col = f"，列「{p['column']}」" if p["column"] else ""
        lines.append(f"  第 {p['row']} 行{col} [{level}] {p['message_zh']} / {p['message_en']} ({p['code']})")
    if len(report["problems"]) > 200:
        lines.append(f"  …… 另有 {len(report['problems']) - 200} 条 / {len(report['problems']) - 200} more")
    bad = report["rows_read"] - report["rows_ok"]
    if bad:
        lines.append(f"结论 Verdict: {bad} 行将被拒收，请改正后报送 / {bad} rows would be rejected; correct them first")
    else:
        note = f"（{len(warnings)} 条提示）" if warnings else ""
        lines.append(f"结论 Verdict: 可以报送{note} / the file can be sent ({len(warnings)} warnings)")
    return "\n".join(lines)

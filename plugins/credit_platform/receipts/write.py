"""The receipt (回执) a department finds after every load of a file it sent.

One workbook per load batch, in ``<outbox>/departments/<code>/``, named
``回执_<yyyymmdd>_批次<batch>_<file stem>.xlsx``. Its first line says what became of the file, and
never claims success for bad input: loaded, loaded with rows rejected, quarantined (nothing of it
is graded), not readable, a duplicate, or received with its quality check still to run. Then the
file, the rows read, loaded, rejected and not yet returned, and what to do next; then each rejected
row with its sheet row (as the clerk sees it in Excel), column, cell and reason in Chinese, with what
would be accepted; then the rows of a returned form not filled in yet. Printed on A4 with page numbers.

Everything comes from ``ops.load_batches``, ``ops.rejected_rows`` and ``ops.unreturned_rows``, so a
receipt can be written again for any batch (``write_receipt``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psycopg
from psycopg.rows import dict_row

from credit_platform.ingest.check import chinese_heading, expected, zh_name
from credit_platform.ingest.config import header_key, sources
from credit_platform.ingest.values import MESSAGES

log = logging.getLogger(__name__)

#: the first line of a receipt, by the batch's outcome
VERDICTS = {
    "loaded": "已装载，全部数据参与评价 / LOADED: every row was loaded",
    "loaded_with_rejections": "已装载，但有 {rejected} 行被拒收，请改正后重新报送这些行"
                              " / LOADED, {rejected} rows REJECTED: correct them and send them again",
    "loaded_partly_returned": "已装载 {loaded} 行；另有 {not_returned} 行尚未回填，填写后可随以后的文件报送"
                              " / LOADED {loaded} rows; {not_returned} rows not yet returned: send them when filled in",
    "quarantined": "已隔离：本文件的数据全部不参与评价，请改正后重新报送整个文件"
                   " / QUARANTINED: nothing of this file is graded; correct it and send the whole file again",
    "failed": "无法读取，未装载：请检查或重新导出后重新报送"
              " / NOT LOADED: the file could not be read; check or export it again and send it again",
    "duplicate": "未重复装载：与已装载的批次 {duplicate_of} 内容相同"
                 " / NOT LOADED AGAIN: the same content as batch {duplicate_of}, already loaded",
    "landed": "已接收，质量检查尚未完成，完成后参与评价（无需操作）"
              " / RECEIVED: its quality check is still to run; nothing to do",
    "interrupted": "装载中断，未保存任何数据，系统将重新装载 / INTERRUPTED: nothing was kept; it will be loaded again",
}  # fmt: skip


@dataclass
class Receipt:
    batch_id: int
    department_code: str
    path: Path
    verdict: str  # a key of VERDICTS


def last_batch(url: str) -> int:
    """The latest batch id now: receipts are then written for the batches after it (``write_since``)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT coalesce(max(batch_id), 0) FROM ops.load_batches").fetchone()[0]


def write_since(url: str, after: int, outbox: Path, *, department: str | None = None) -> list[Receipt]:
    """A receipt for every department batch opened after batch ``after`` (of ``department`` only, when given)."""
    with psycopg.connect(url) as conn:
        ids = [b for (b,) in conn.execute(
            "SELECT batch_id FROM ops.load_batches WHERE batch_id > %s AND department_code IS NOT NULL"
            " AND source_file LIKE 'departments/%%' AND status <> 'running'"
            " AND (%s::text IS NULL OR department_code = %s) ORDER BY batch_id",
            (after, department, department))]  # fmt: skip
    return [write_receipt(url, b, outbox) for b in ids]


def write_since_logged(url: str, after: int, outbox: Path, *, department: str | None = None) -> list[Receipt]:
    """``write_since`` for a caller whose own outcome must not depend on it: a failure is logged as an error."""
    try:
        receipts = write_since(url, after, outbox, department=department)
    except Exception:  # noqa: BLE001 - the load stands; the receipt can be written again (write_receipt)
        log.exception("the receipts of the batches after %s could not be written", after)
        return []
    for r in receipts:
        log.info("receipt for batch %s (%s): %s", r.batch_id, r.verdict, r.path)
    return receipts


def gather(conn, batch_id: int) -> dict:
    """The batch, its rejected rows (one line per problem) and its rows not yet returned."""
    cur = conn.cursor(row_factory=dict_row)
    b = cur.execute("SELECT * FROM ops.load_batches WHERE batch_id = %s", (batch_id,)).fetchone()
    if b is None:
        raise LookupError(f"no batch {batch_id}")
    rejected = cur.execute(
        "SELECT row_number, reason_codes, problems, column_name, raw_value, record FROM ops.rejected_rows"
        " WHERE batch_id = %s ORDER BY row_number", (batch_id,)).fetchall()  # fmt: skip
    unreturned = cur.execute("SELECT row_number, record FROM ops.unreturned_rows WHERE batch_id = %s"
                             " ORDER BY row_number", (batch_id,)).fetchall()  # fmt: skip
    return {"batch": b, "rejected": rejected, "unreturned": unreturned}


def _header_row(b: dict) -> int:
    """The sheet row of the batch's header (1 for a batch loaded before it was recorded)."""
    return b["header_row"] if b["header_row"] is not None else 1


def _city_time(when: dt.datetime) -> dt.datetime:
    """A time as the city's clock shows it (Asia/Shanghai), whatever the machine's zone."""
    from zoneinfo import ZoneInfo

    from credit_platform.settings import TIMEZONE

    return when.astimezone(ZoneInfo(TIMEZONE))


def verdict_of(b: dict) -> str:
    status = b["status"]
    if status == "loaded" and (b["rows_rejected"] or 0):
        return "loaded_with_rejections"
    if status == "loaded" and (b.get("rows_not_returned") or 0):
        return "loaded_partly_returned"
    return status if status in VERDICTS else "landed"


def problem_lines(data: dict) -> list[tuple[int, str, str, str, str]]:
    """(sheet row, column heading, cell, reason in Chinese, what to do) for each problem of each rejected row."""
    b = data["batch"]
    source = sources().get(b["source"])
    spellings = source.spellings_for(b["department_code"]) if source else {}
    header_row = _header_row(b)
    as_of = _city_time(b["finished_at"] or dt.datetime.now(dt.UTC)).date()
    out = []
    for r in data["rejected"]:
        record = r["record"] or {}
        heading_of = {spellings[header_key(h)].name: h for h in record if header_key(h) in spellings}
        items = r["problems"] or [f"{code}@" for code in r["reason_codes"]]
        for item in items:
            code, _, column = item.partition("@")
            if code == "required_column_missing":  # said once, in the quarantine reason at the top
                continue
            col = source.column(column) if source and column not in ("", "row") else None
            heading = heading_of.get(column) or (chinese_heading(col) if col else "")
            cell = record.get(heading) if heading in record else None
            zh = MESSAGES.get(code, (code, code, "error"))[0]
            exp = expected(code, col, as_of)[0]
            todo = f"改为：{exp}" if exp else "改正后重新报送该行"
            if code == "row_too_many_cells":
                todo = "删去表头以外多出的单元格后重新报送该行"
            out.append((header_row + r["row_number"], heading, "" if cell is None else str(cell), zh, todo))
    return out


def in_sheet_order(record: dict, source, department: str | None) -> list[tuple[str, object]]:
    """A row kept as JSON (whose keys lose their order) in the order of the source's columns."""
    if source is None:
        return list(record.items())
    spellings = source.spellings_for(department)
    rank = {c.name: i for i, c in enumerate(source.columns)}

    def place(key: str) -> int:
        col = spellings.get(header_key(key))
        return rank.get(col.name, len(rank)) if col else len(rank)

    return sorted(record.items(), key=lambda kv: place(kv[0]))


def quarantine_reason_zh(b: dict) -> str:
    """Why the batch was quarantined, in Chinese (the gate's own message, in English, follows in the sheet)."""
    from credit_platform.quality.raw_gate import max_rejected_share

    reasons = []
    if b.get("missing_columns"):
        source = sources().get(b["source"])
        names = [chinese_heading(source.column(c)) if source and source.column(c) else c for c in b["missing_columns"]]
        reasons.append("缺少必填列：" + "、".join(names) + "（请在表头补上该列后重新报送整个文件）")
    share = (b["rows_rejected"] or 0) / b["rows_in"] if b["rows_in"] else 0
    if share > max_rejected_share():
        reasons.append(f"拒收 {b['rows_rejected']} 行，占 {share:.0%}，超过允许的 {max_rejected_share():.0%}")
    return "；".join(reasons) or "数据质量检查未通过（见下方英文说明）"


def write_receipt(url: str, batch_id: int, outbox: Path) -> Receipt:
    """Write (or write again) the receipt of one batch; returns where it is."""
    with psycopg.connect(url) as conn:
        data = gather(conn, batch_id)
    b = data["batch"]
    dept = b["department_code"] or PurePosixPath(b["source_file"]).parts[1]
    folder = outbox / "departments" / dept
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", PurePosixPath(b["source_file"]).stem)[:60]
    day = _city_time(b["finished_at"] or b["started_at"]).strftime("%Y%m%d")
    path = folder / f"回执_{day}_批次{batch_id}_{stem}.xlsx"
    verdict = verdict_of(b)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(render(data, verdict))
    tmp.replace(path)
    return Receipt(batch_id, dept, path, verdict)


def render(data: dict, verdict: str) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from credit_platform.publish.workbooks import LINE_POINTS, print_setup, set_text, wrapped_lines

    b = data["batch"]
    source = sources().get(b["source"])
    wb = Workbook()
    ws = wb.active
    ws.title = "回执"
    widths = (10, 22, 26, 34, 44)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[chr(64 + i)].width = w
    wrap = Alignment(wrap_text=True, vertical="top")
    left_top = Alignment(horizontal="left", vertical="top")
    red = verdict in ("quarantined", "failed", "loaded_with_rejections", "interrupted")

    def line(r: int, text: str, *, bold: bool = False, fill: str | None = None) -> int:
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(widths))
        cell = ws.cell(row=r, column=1)
        set_text(cell, text)
        cell.alignment = wrap
        if bold:
            cell.font = Font(bold=True, size=12 if r == 1 else 11, color="9C0006" if red and r == 1 else None)
        if fill:
            cell.fill = PatternFill("solid", fgColor=fill)
        ws.row_dimensions[r].height = LINE_POINTS * wrapped_lines(text, sum(widths))
        return r + 1

    first = VERDICTS[verdict].format(rejected=b["rows_rejected"] or 0, duplicate_of=b["duplicate_of"],
                                     loaded=b["rows_loaded"] or 0, not_returned=b.get("rows_not_returned") or 0)
    r = line(1, first, bold=True, fill="FFC7CE" if red else "C6EFCE")
    if verdict == "quarantined":
        r = line(r, "隔离原因：" + quarantine_reason_zh(b))
    if verdict in ("failed", "interrupted") and b["message"]:
        r = line(r, "原因 / cause: " + b["message"])
    kind = f"{zh_name(source)}（{source.name}）" if source else b["source"]
    r = line(r, f"文件 / file: {b['source_file']}    类型 / kind: {kind}    批次 / batch: {b['batch_id']}")
    received = _city_time(b["finished_at"] or b["started_at"]).strftime("%Y-%m-%d %H:%M")
    r = line(r, f"装载时间 / loaded at: {received}")
    if verdict not in ("failed", "duplicate", "interrupted"):
        read = (b["rows_in"] or 0) + (b["rows_not_returned"] or 0)
        r = line(r, f"读取 {read} 行：装载 {b['rows_loaded'] or 0} 行，拒收 {b['rows_rejected'] or 0} 行，"
                    f"尚未回填 {b['rows_not_returned'] or 0} 行 / {read} rows read: {b['rows_loaded'] or 0} loaded,"
                    f" {b['rows_rejected'] or 0} rejected, {b['rows_not_returned'] or 0} not yet returned")  # fmt: skip
        if verdict == "quarantined" and b.get("quarantine_reason"):
            r = line(r, "质量检查说明 / the quality gate: " + b["quarantine_reason"])
    problems = problem_lines(data)
    if problems:
        r = line(r + 1, "拒收的行（行号为 Excel 中看到的行号）/ rejected rows (rows as numbered in Excel)", bold=True)
        for i, h in enumerate(("表格行号", "列", "单元格内容", "问题", "处理办法"), start=1):
            cell = ws.cell(row=r, column=i, value=h)
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        header_at = r
        r += 1
        for values in problems:
            lines = 1
            for i, value in enumerate(values, start=1):
                cell = ws.cell(row=r, column=i)
                if i == 1:
                    cell.value = value
                else:
                    set_text(cell, value)
                cell.alignment = left_top if i == 1 else wrap
                lines = max(lines, wrapped_lines(str(value), widths[i - 1]))
            ws.row_dimensions[r].height = LINE_POINTS * lines
            r += 1
        ws.print_title_rows = f"{header_at}:{header_at}"
    if data["unreturned"]:
        r = line(r + 1, "尚未回填的行（未拒收，填写后可随以后的文件报送）"
                        " / rows not yet returned (not rejected: fill them in and send them in a later file)",
                 bold=True)  # fmt: skip
        for i, h in enumerate(("表格行号", "内容"), start=1):
            cell = ws.cell(row=r, column=i, value=h)
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        r += 1
        header_row = _header_row(b)
        for u in data["unreturned"]:
            ws.cell(row=r, column=1, value=header_row + u["row_number"])
            ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=len(widths))
            text = "；".join(f"{k}：{v}" for k, v in in_sheet_order(u["record"] or {}, source, b["department_code"])
                            if v not in (None, ""))  # fmt: skip
            set_text(ws.cell(row=r, column=2), text)
            ws.cell(row=r, column=2).alignment = wrap
            ws.row_dimensions[r].height = LINE_POINTS * wrapped_lines(text, sum(widths[1:]))
            r += 1
    print_setup(ws, f"报送回执 {b['source_file']}", landscape=False)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

"""What a batch looks like on the wire: CSV (GB18030, Chinese headers), JSON, or the XML exchange
envelope of the provincial platform (brief section 6), and the manifest beside every file.

Every item carries its action: ``upsert`` (新增或更新: a new or changed record) or ``withdraw``
(撤回: the platform must take the record down), its key, and its disclosure level.

CSV is safe to open in a spreadsheet: a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return (which a spreadsheet would take for a formula) gets a leading apostrophe, and
so does a text cell already beginning with one, so that the receiver undoes it exactly by removing
the first apostrophe of every cell that begins with one. Numbers, dates and booleans are never
changed (a negative fine stays ``-2``). Each CSV batch's manifest says so (``csv_escaping``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import xml.etree.ElementTree as ET  # noqa: S405 - builds XML, never parses it
from dataclasses import dataclass

ACTIONS = {"upsert": "新增或更新", "withdraw": "撤回"}
EXTENSIONS = {"csv": "csv", "json": "json", "xml": "xml"}
CONTENT_TYPES = {"csv": "text/csv; charset=GB18030", "json": "application/json; charset=utf-8",
                 "xml": "application/xml; charset=utf-8"}  # fmt: skip


@dataclass(frozen=True)
class Item:
    key: str
    action: str  # upsert, withdraw
    level: str
    values: dict  # column -> value (empty for a withdrawal)


@dataclass(frozen=True)
class Meta:
    platform: str
    platform_title: str
    dataset: str
    dataset_title: str
    idempotency_key: str
    columns: tuple[str, ...]
    headers: dict[str, str]
    created_at: dt.datetime
    envelope: dict


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ESCAPE = "'"
CSV_ESCAPING = {
    "method": "leading_apostrophe",
    "applies_to": "text cells beginning with = + - @ TAB CR or an apostrophe; never numbers, dates or booleans",
    "undo": "remove the first character of every cell that begins with an apostrophe (')",
    "说明": "以 = + - @ 制表符 回车 或单引号开头的文本单元格前加一个单引号；还原时去掉以单引号开头的单元格的第一个字符",
}


def csv_cell(value) -> str:
    """One value as a CSV cell: ``text``, and a text cell a spreadsheet could run as a formula
    (or one that begins with the apostrophe itself) gets a leading apostrophe."""
    cell = text(value)
    if isinstance(value, str) and cell.startswith((*FORMULA_STARTS, CSV_ESCAPE)):
        return CSV_ESCAPE + cell
    return cell


def csv_unescape(cell: str) -> str:
    """What the receiver does to every cell to get the original back (the manifest says so)."""
    return cell[1:] if cell.startswith(CSV_ESCAPE) else cell


def text(value) -> str:
    """One value as the platforms read it: dates ISO, booleans 是/否, numbers without exponent."""
    if value is None:
        return ""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return str(value)


def render(fmt: str, meta: Meta, items: list[Item]) -> bytes:
    if fmt == "csv":
        return _csv(meta, items)
    if fmt == "json":
        return _json(meta, items)
    if fmt == "xml":
        return _xml(meta, items)
    raise ValueError(f"unknown format {fmt!r}")


def _csv(meta: Meta, items: list[Item]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    from credit_platform.publish.config import load

    leading = list(load().export_headers("publication_csv").values())  # 操作, 记录键, 公开级别
    w.writerow(leading + [meta.headers[c] for c in meta.columns])
    for it in items:
        w.writerow([ACTIONS[it.action], csv_cell(it.key), it.level]
                   + [csv_cell(it.values.get(c)) for c in meta.columns])  # fmt: skip
    return buf.getvalue().encode("gb18030")


def _json(meta: Meta, items: list[Item]) -> bytes:
    doc = {
        "platform": meta.platform, "dataset": meta.dataset, "idempotency_key": meta.idempotency_key,
        "created_at": meta.created_at.isoformat(), "columns": {c: meta.headers[c] for c in meta.columns},
        "records": [{"action": it.action, "key": it.key, "disclosure_level": it.level,
                     "fields": {c: text(it.values.get(c)) for c in meta.columns} if it.action == "upsert" else {}}
                    for it in items],
    }  # fmt: skip
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def _xml(meta: Meta, items: list[Item]) -> bytes:
    env = meta.envelope
    root = ET.Element("ExchangeMessage")
    header = ET.SubElement(root, "Header")
    for tag, value in [("Sender", env.get("sender", "")), ("Receiver", env.get("receiver", meta.platform_title)),
                       ("Flow", env.get("flow", "")), ("Item", meta.dataset_title),
                       ("SerialNumber", meta.idempotency_key), ("SecurityType", env.get("security_type", "")),
                       ("Operator", env.get("operator", "")), ("SendTime", meta.created_at.isoformat()),
                       ("RecordCount", str(len(items)))]:  # fmt: skip
        ET.SubElement(header, tag).text = value
    body = ET.SubElement(root, "Body")
    for it in items:
        record = ET.SubElement(body, "Record", {"action": it.action, "key": it.key, "level": it.level})
        if it.action == "upsert":
            for c in meta.columns:
                ET.SubElement(record, c).text = text(it.values.get(c))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def manifest(meta: Meta, fmt: str, file_name: str, data: bytes, items: list[Item], sha256: str) -> bytes:
    upserts = sum(1 for it in items if it.action == "upsert")
    doc = {
        "platform": meta.platform, "dataset": meta.dataset, "idempotency_key": meta.idempotency_key,
        "file": file_name, "format": fmt, "encoding": "GB18030" if fmt == "csv" else "UTF-8",
        "bytes": len(data), "sha256": sha256,
        "rows": {"total": len(items), "upsert": upserts, "withdraw": len(items) - upserts},
        "levels": sorted({it.level for it in items}), "columns": list(meta.columns),
        "created_at": meta.created_at.isoformat(),
    }  # fmt: skip
    if fmt == "csv":
        doc["csv_escaping"] = CSV_ESCAPING
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

"""What a batch looks like on the wire: CSV (GB18030, Chinese headers), JSON, or the XML exchange
envelope of the provincial platform (brief section 6), and the manifest beside every file.

Every item carries its action: ``upsert`` (新增或更新: a new or changed record) or ``withdraw``
(撤回: the platform must take the record down), its key, and its disclosure level. The codes a
receiver reads (操作, 公开级别) are written in the language of the format: in Chinese in CSV (its
headers are Chinese) and in the XML envelope (its header values are Chinese: 内部, the sender's and
dataset's names), as publication.yml names them (``levels``: 完全公开, 依授权公开, 内部使用;
``ACTIONS``: 新增或更新, 撤回); in English codes in JSON (its keys are codes). Booleans are 是/否 in
every format.

The manifest lists the file's columns in file order, each with its Chinese name and its code
(``{"name": "公开级别", "code": "disclosure_level"}``): in CSV the names are the header row; in JSON
and XML the codes are the record's keys, attributes and elements. Its ``codes`` table gives, for 操作
and 公开级别, each value as the file writes it with its code and Chinese name, so a receiver maps
back.

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

ACTIONS = {"upsert": "新增或更新", "withdraw": "撤回"}
#: the formats whose receivers read codes in Chinese (see the module's docstring)
CHINESE = {"csv": True, "json": False, "xml": True}
#: the leading fields of every record, as each format names them (CSV: publication.yml exports)
LEADING = {"json": ("action", "key", "disclosure_level"), "xml": ("action", "key", "level")}
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
    if type(value) is str:  # most values: first, as this runs for every cell of every batch
        return value
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
    """The whole batch as bytes (``write`` into memory)."""
    out = io.BytesIO()
    write(fmt, meta, items, out, len(items))
    return out.getvalue()


def write(fmt: str, meta: Meta, items: Iterable[Item], out: BinaryIO, total: int) -> None:
    """Write the batch of ``total`` items to ``out`` record by record, so that a batch of any size
    (a first publication holds every grade) is never in memory; the XML header states ``total``."""
    if fmt == "csv":
        _csv(meta, items, out)
    elif fmt == "json":
        _json(meta, items, out)
    elif fmt == "xml":
        _xml(meta, items, out, total)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _config():
    from credit_platform.publish.config import load

    return load()


def action_text(fmt: str, action: str) -> str:
    """操作 as ``fmt`` writes it: 新增或更新 / 撤回 where the format is Chinese, else the code."""
    return ACTIONS[action] if CHINESE[fmt] else action


def level_text(fmt: str, level: str) -> str:
    """公开级别 as ``fmt`` writes it: publication.yml's name (完全公开 ...) where the format is Chinese."""
    return _config().level_names.get(level, level) if CHINESE[fmt] else level


def _leading(fmt: str) -> list[tuple[str, str]]:
    """(code, Chinese name) of the fields every record begins with: 操作, 记录键, 公开级别 (named in
    publication.yml ``exports.publication_csv``), coded as ``fmt`` writes them."""
    names = _config().export_headers("publication_csv")  # action, record_key, disclosure_level -> header
    codes = tuple(names) if fmt == "csv" else LEADING[fmt]
    return list(zip(codes, names.values(), strict=True))


def columns(fmt: str, meta: Meta) -> list[dict[str, str]]:
    """The file's columns in file order, each ``{"name": Chinese, "code": code}``: the leading
    操作, 记录键, 公开级别, then the dataset's. In CSV the names are its header row."""
    return [{"name": name, "code": code} for code, name in _leading(fmt)] + [
        {"name": meta.headers[c], "code": c} for c in meta.columns
    ]


def code_table(fmt: str) -> dict[str, list[dict[str, str]]]:
    """For 操作 and 公开级别 (by their code in the file): each value as ``fmt`` writes it, with its
    code and Chinese name, so that a receiver maps the file's values back to codes."""
    (action, _), _, (level, _) = _leading(fmt)
    return {
        action: [{"value": action_text(fmt, a), "code": a, "name": n} for a, n in ACTIONS.items()],
        level: [{"value": level_text(fmt, lv), "code": lv, "name": n} for lv, n in _config().level_names.items()],
    }


def _csv(meta: Meta, items: Iterable[Item], out: BinaryIO) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c["name"] for c in columns("csv", meta)])
    action, level = {a: action_text("csv", a) for a in ACTIONS}, _level_texts("csv")
    for n, it in enumerate(items, 1):
        w.writerow([action[it.action], csv_cell(it.key), level.get(it.level, it.level)]
                   + [csv_cell(it.values.get(c)) for c in meta.columns])  # fmt: skip
        if n % 2000 == 0:
            out.write(buf.getvalue().encode("gb18030"))
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue().encode("gb18030"))


def _json(meta: Meta, items: Iterable[Item], out: BinaryIO) -> None:
    """One JSON document, its records written one at a time."""
    head = {
        "platform": meta.platform, "dataset": meta.dataset, "idempotency_key": meta.idempotency_key,
        "created_at": meta.created_at.isoformat(), "columns": {c: meta.headers[c] for c in meta.columns},
    }  # fmt: skip
    opening = json.dumps(head, ensure_ascii=False, indent=1).removesuffix("\n}")
    out.write((opening + ',\n "records": [\n  ').encode("utf-8"))
    for n, it in enumerate(items):
        record = json.dumps({"action": it.action, "key": it.key, "disclosure_level": it.level,
                             "fields": {c: text(it.values.get(c)) for c in meta.columns}
                             if it.action == "upsert" else {}}, ensure_ascii=False)  # fmt: skip
        out.write(((",\n  " if n else "") + record).encode("utf-8"))
    out.write(b"\n ]\n}")


def xml_text(value: str) -> str:
    """Character data as ElementTree escapes it (``&``, ``<``, ``>``)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def xml_attribute(value: str) -> str:
    """An attribute value as ElementTree escapes it (also ``"``, CR, LF and TAB as character references)."""
    value = xml_text(value)
    for char, ref in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if char in value:
            value = value.replace(char, ref)
    return value


def _xml(meta: Meta, items: Iterable[Item], out: BinaryIO, total: int) -> None:
    """The exchange envelope. Each record is written as ElementTree would serialise it (the same
    bytes; ``tests/unit/test_publication_config.py`` compares them), without building its tree."""
    env = meta.envelope
    header = ET.Element("Header")
    for tag, value in [("Sender", env.get("sender", "")), ("Receiver", env.get("receiver", meta.platform_title)),
                       ("Flow", env.get("flow", "")), ("Item", meta.dataset_title),
                       ("SerialNumber", meta.idempotency_key), ("SecurityType", env.get("security_type", "")),
                       ("Operator", env.get("operator", "")), ("SendTime", meta.created_at.isoformat()),
                       ("RecordCount", str(total))]:  # fmt: skip
        ET.SubElement(header, tag).text = value
    out.write(("<?xml version='1.0' encoding='utf-8'?>\n<ExchangeMessage>" + ET.tostring(header, encoding="unicode")
               + "<Body>").encode("utf-8"))  # fmt: skip
    action, level = {a: action_text("xml", a) for a in ACTIONS}, _level_texts("xml")
    for it in items:
        opening = (f'<Record action="{xml_attribute(action[it.action])}" key="{xml_attribute(it.key)}"'
                   f' level="{xml_attribute(level.get(it.level, it.level))}"')  # fmt: skip
        if it.action != "upsert":
            out.write((opening + " />").encode("utf-8"))
            continue
        cells = []
        for c in meta.columns:
            value = text(it.values.get(c))
            cells.append(f"<{c}>{xml_text(value)}</{c}>" if value else f"<{c} />")
        out.write((opening + ">" + "".join(cells) + "</Record>").encode("utf-8"))
    out.write(b"</Body></ExchangeMessage>")


def _level_texts(fmt: str) -> dict[str, str]:
    return {lv: level_text(fmt, lv) for lv in _config().level_names}


def manifest(meta: Meta, fmt: str, file_name: str, data: bytes, items: list[Item], sha256: str) -> bytes:
    upserts = sum(1 for it in items if it.action == "upsert")
    return manifest_of(meta, fmt, file_name, len(data), len(items), upserts, {it.level for it in items}, sha256)


def manifest_of(meta: Meta, fmt: str, file_name: str, size: int, total: int, upserts: int, levels: set[str],
                sha256: str) -> bytes:  # fmt: skip
    """The manifest of a batch file of ``size`` bytes holding ``total`` items (``upserts`` of them)."""
    doc = {
        "platform": meta.platform, "dataset": meta.dataset, "idempotency_key": meta.idempotency_key,
        "file": file_name, "format": fmt, "encoding": "GB18030" if fmt == "csv" else "UTF-8",
        "bytes": size, "sha256": sha256,
        "rows": {"total": total, "upsert": upserts, "withdraw": total - upserts},
        "levels": sorted(levels), "columns": columns(fmt, meta), "codes": code_table(fmt),
        "booleans": {"是": True, "否": False}, "created_at": meta.created_at.isoformat(),
    }  # fmt: skip
    if fmt == "csv":
        doc["csv_escaping"] = CSV_ESCAPING
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

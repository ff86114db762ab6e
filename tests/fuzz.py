"""Damaged files made from the demo generator's own files, deterministically, for the loader's fuzz test.

The demo city (``credit_platform.demo``) is generated small, each of its files cut to a few dozen
rows, and every file is then mutated many ways by a ``random.Random`` with a fixed seed: the bytes
(truncated, bits flipped, NUL bytes, random spans), the text (UTF-16, mixed and double encodings,
a huge cell, control characters, stray quotes, thousands of columns, lone CR line ends), workbooks
(corrupt zip members, damaged sheet and shared-string XML, a member missing, invalid XML
characters, impossible dates, a wrong encoding declaration) and JSON pushes (nesting too deep, a
number too long, records that are not records). The same seed gives the same files on every run.
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

ROWS = 30  # data rows kept from each demo file
HUGE = 300_000  # characters in a "huge" cell: big enough to matter, small enough to stay fast

Mutator = Callable[[bytes, random.Random, str], bytes]


# --- the base files ---------------------------------------------------------------------------


def base_files(workdir: Path, *, seed: int = 11) -> dict[str, bytes]:
    """One demo file of each source and format (the one with most rows), cut to ``ROWS`` data rows; plus
    a few written as XLSX from CSV."""
    from credit_platform.demo.generate import generate
    from credit_platform.ingest.config import source_for

    inbox = workdir / "demo_inbox"
    manifest = generate(inbox, workdir / "demo_manifest.json", seed=seed, subjects=200, defect_rate=0.05)
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for rel, entry in sorted(manifest["files"].items()):
        key = (source_for(rel).name, entry["format"])
        if entry["rows"] and entry["rows"] > best.get(key, (0, ""))[0]:
            best[key] = (entry["rows"], rel)
    out: dict[str, bytes] = {}
    for _, rel in sorted(best.values(), key=lambda b: b[1]):
        entry = manifest["files"][rel]
        data = (inbox / rel).read_bytes()
        if entry["format"] == "csv":
            out[rel] = b"".join(data.splitlines(keepends=True)[: ROWS + 1])
        elif entry["format"] == "json":
            doc = json.loads(data)
            doc["data"] = doc["data"][:ROWS]
            doc["total"] = len(doc["data"])
            out[rel] = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        else:
            out[rel] = data  # the demo workbooks are small already
    # More workbooks: CSV files of other sources written as XLSX.
    for rel in [r for r in out if re.search(r"/(subject_register|complaints|external_grades)[^/]*\.csv$", r)]:
        enc = manifest["files"][rel]["encoding"]
        out[rel[:-4] + ".xlsx"] = _csv_as_xlsx(out[rel].decode(enc))
    return out


def _csv_as_xlsx(text: str) -> bytes:
    import csv

    import openpyxl

    wb = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(text)):
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return _stable(buf.getvalue())


def _stable(data: bytes) -> bytes:
    """The workbook's zip with fixed member times and core properties, so the same input gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", body)
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0)), body,
                          compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return out.getvalue()


# --- mutations of any file ---------------------------------------------------------------------


def truncated(data: bytes, rng: random.Random, _enc: str) -> bytes:
    return data[: rng.randrange(len(data))]


def bits_flipped(data: bytes, rng: random.Random, _enc: str) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def nul_bytes(data: bytes, rng: random.Random, _enc: str) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf) + 1)
        buf[i:i] = b"\x00" * rng.randint(1, 40)
    return bytes(buf)


def random_span(data: bytes, rng: random.Random, _enc: str) -> bytes:
    i = rng.randrange(len(data))
    n = rng.randint(1, 256)
    return data[:i] + rng.randbytes(n) + data[i + n :]


def span_repeated(data: bytes, rng: random.Random, _enc: str) -> bytes:
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 2000))
    return data[:j] + data[i:j] * rng.randint(2, 5) + data[j:]


def emptied(data: bytes, rng: random.Random, _enc: str) -> bytes:
    return rng.choice([b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" \t "])


ANY: list[Mutator] = [truncated, bits_flipped, nul_bytes, random_span, span_repeated, emptied]


# --- mutations of text (CSV and JSON) ----------------------------------------------------------


def _lines(data: bytes, enc: str) -> list[str]:
    return data.decode(enc).splitlines(keepends=True)


def as_utf16(data: bytes, rng: random.Random, enc: str) -> bytes:
    return data.decode(enc).encode(rng.choice(["utf-16", "utf-16-le", "utf-32"]))


def double_encoded(data: bytes, rng: random.Random, enc: str) -> bytes:
    """UTF-8 read as Latin-1 and saved as UTF-8 again (mojibake, but valid UTF-8)."""
    return data.decode(enc).encode("utf-8").decode("latin-1").encode("utf-8")


def mixed_encodings(data: bytes, rng: random.Random, enc: str) -> bytes:
    """Some lines written in the other encoding (a file pasted together from two exports)."""
    other = "gb18030" if enc.startswith("utf-8") else "utf-8"
    lines = data.splitlines(keepends=True)
    for i in rng.sample(range(len(lines)), min(len(lines), rng.randint(1, 3))):
        lines[i] = lines[i].decode(enc).encode(other)
    return b"".join(lines)


def high_bytes(data: bytes, rng: random.Random, _enc: str) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        buf[rng.randrange(len(buf))] = rng.randint(0x80, 0xFF)
    return bytes(buf)


def huge_cell(data: bytes, rng: random.Random, enc: str) -> bytes:
    text = data.decode(enc)
    commas = [m.start() for m in re.finditer(",", text)]
    at = rng.choice(commas) + 1 if commas else len(text)
    filler = rng.choice(["X", "怀", "9", " "]) * HUGE
    if text.lstrip().startswith(("{", "[")):
        filler = f'"{filler}",' if text[at:].lstrip().startswith('"') else filler  # keeps some JSON valid
    return (text[:at] + filler + text[at:]).encode(enc)


def control_chars(data: bytes, rng: random.Random, enc: str) -> bytes:
    text = data.decode(enc)
    for _ in range(rng.randint(1, 10)):
        i = rng.randrange(len(text) + 1)
        text = text[:i] + chr(rng.choice([1, 2, 7, 8, 11, 12, 27, 31, 127, 0x85, 0x2028, 0xFEFF])) + text[i:]
    return text.encode(enc)


def stray_quote(data: bytes, rng: random.Random, enc: str) -> bytes:
    text = data.decode(enc)
    i = rng.randrange(len(text) + 1)
    return (text[:i] + rng.choice(['"', '"""', "'", '\\"']) + text[i:]).encode(enc)


def many_columns(data: bytes, rng: random.Random, enc: str) -> bytes:
    lines = _lines(data, enc)
    i = rng.randrange(len(lines))
    lines[i] = lines[i].rstrip("\r\n") + ",x" * rng.choice([100, 2000, 5000]) + "\n"
    return "".join(lines).encode(enc)


def lone_cr(data: bytes, rng: random.Random, enc: str) -> bytes:
    return re.sub("\r?\n", "\r", data.decode(enc)).encode(enc)


def header_dropped(data: bytes, rng: random.Random, enc: str) -> bytes:
    return "".join(_lines(data, enc)[1:]).encode(enc)


def lines_shuffled(data: bytes, rng: random.Random, enc: str) -> bytes:
    lines = _lines(data, enc)
    rng.shuffle(lines)
    return "".join(lines).encode(enc)


TEXT: list[Mutator] = [as_utf16, double_encoded, mixed_encodings, high_bytes, huge_cell, control_chars, stray_quote,
                       many_columns, lone_cr, header_dropped, lines_shuffled]  # fmt: skip


# --- mutations of workbooks --------------------------------------------------------------------


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _edit(data: bytes, pattern: str, change: Callable[[bytes], bytes]) -> bytes:
    """Apply ``change`` to the members whose name matches ``pattern`` (the first sheet, shared strings ...)."""
    return _zip([(n, change(b) if re.fullmatch(pattern, n) else b) for n, b in _members(data)])


SHEET = r"xl/worksheets/sheet1\.xml"


def sheet_xml_cut(data: bytes, rng: random.Random, _enc: str) -> bytes:
    return _edit(data, SHEET, lambda b: b[: rng.randrange(len(b))] + rng.choice([b"", b"<row r=<<", b"</c></row>"]))


def sheet_xml_bad_token(data: bytes, rng: random.Random, _enc: str) -> bytes:
    def change(b: bytes) -> bytes:
        i = rng.randrange(len(b))
        return b[:i] + rng.choice([b"<<", b"&nbsp;", b"]]>", b"<c r=\"A1\" t=\"s\"><v>", b"\xff\xfe"]) + b[i:]

    return _edit(data, SHEET, change)


def package_member_damaged(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """The content types, the workbook, its relations or the styles cut off."""
    name = rng.choice([r"\[Content_Types\]\.xml", r"xl/workbook\.xml", r"xl/_rels/workbook\.xml\.rels",
                       r"xl/styles\.xml"])  # fmt: skip
    return _edit(data, name, lambda b: b[: rng.randrange(len(b))])


def member_missing(data: bytes, rng: random.Random, _enc: str) -> bytes:
    members = _members(data)
    gone = rng.choice([n for n, _ in members])
    return _zip([(n, b) for n, b in members if n != gone])


def member_random(data: bytes, rng: random.Random, _enc: str) -> bytes:
    members = _members(data)
    name = rng.choice([n for n, _ in members])
    return _zip([(n, rng.randbytes(rng.randint(0, 400)) if n == name else b) for n, b in members])


def invalid_xml_chars(data: bytes, rng: random.Random, _enc: str) -> bytes:
    def change(b: bytes) -> bytes:
        return re.sub(rb"(<t[^>]*>)", lambda m: m.group(1) + rng.choice([b"\x00", b"\x01", b"\x0b", b"&#0;"]), b,
                      count=rng.randint(1, 5))  # fmt: skip

    return _edit(data, r"xl/(sharedStrings|worksheets/sheet1)\.xml", change)


CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)


def _cells(rng: random.Random, count: int, make: Callable[[re.Match], bytes]) -> Callable[[bytes], bytes]:
    """A change of the sheet XML: ``count`` data cells (below row 3: past any title and header) made anew."""

    def change(b: bytes) -> bytes:
        cells = [m for m in CELL.finditer(b) if int(m.group(2)) > 3]
        out, last = [], 0
        for m in sorted(rng.sample(cells, min(count, len(cells))), key=lambda m: m.start()):
            out += [b[last : m.start()], make(m)]
            last = m.end()
        return b"".join(out) + b[last:]

    return change


def _at(m: re.Match) -> bytes:
    return m.group(1) + m.group(2)


def shared_string_index_out_of_range(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """Cells pointing into a shared-string table that does not hold them (or does not exist)."""
    ref = lambda m: b'<c r="' + _at(m) + b'" t="s"><v>99999</v></c>'  # noqa: E731
    return _edit(data, SHEET, _cells(rng, rng.randint(1, 3), ref))


def impossible_values(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """Numbers far out of range, text in a number cell, an error cell, a boolean that is not one."""
    def make(m: re.Match) -> bytes:
        kind, value = rng.choice([(b"", b"1e308"), (b"", b"-1e308"), (b"", b"NaN"), (b"", b"abc"),
                                  (b' t="e"', b"#REF!"), (b' t="b"', b"7"), (b' t="n"', b"")])  # fmt: skip
        return b'<c r="' + _at(m) + b'"' + kind + b"><v>" + value + b"</v></c>"

    return _edit(data, SHEET, _cells(rng, rng.randint(1, 6), make))


def date_cell_garbage(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """Cells typed as ISO dates that are no dates."""
    bad = rng.choice([b"2025-13-45T99:99", b"yesterday", b"", b"99999-01-01"])
    return _edit(data, SHEET, _cells(rng, rng.randint(1, 4), lambda m: b'<c r="' + _at(m) + b'" t="d"><v>' + bad
                                     + b"</v></c>"))  # fmt: skip


def huge_text_cell(data: bytes, rng: random.Random, _enc: str) -> bytes:
    big = (rng.choice(["X", "怀"]) * HUGE).encode()
    return _edit(data, SHEET, _cells(rng, 1, lambda m: b'<c r="' + _at(m) + b'" t="inlineStr"><is><t>' + big
                                     + b"</t></is></c>"))  # fmt: skip


def wrong_xml_encoding(data: bytes, rng: random.Random, _enc: str) -> bytes:
    decl = rng.choice([b'encoding="UTF-16"', b'encoding="GB18030"', b'encoding="no-such"'])
    return _edit(data, r"xl/(sharedStrings|worksheets/sheet1|workbook)\.xml",
                 lambda b: re.sub(rb'encoding="[^"]*"', decl, b, count=1) if b"encoding=" in b[:100]
                 else b'<?xml version="1.0" ' + decl + b"?>" + b)  # fmt: skip


def member_crc_broken(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """A byte of one member's compressed data changed in place: the zip's directory is intact, its CRC is not."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = rng.choice([i for i in z.infolist() if i.compress_size > 4])
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    buf = bytearray(data)
    buf[start + rng.randrange(info.compress_size)] ^= 0xFF
    return bytes(buf)


XLSX: list[Mutator] = [sheet_xml_cut, sheet_xml_bad_token, package_member_damaged, member_missing, member_random,
                       invalid_xml_chars, shared_string_index_out_of_range, impossible_values, date_cell_garbage,
                       huge_text_cell, wrong_xml_encoding, member_crc_broken]  # fmt: skip


# --- mutations of JSON pushes ------------------------------------------------------------------


def json_too_deep(data: bytes, rng: random.Random, _enc: str) -> bytes:
    depth = rng.choice([2000, 100_000])
    return b'{"data":' + b"[" * depth + b"]" * depth + b"}"


def json_long_number(data: bytes, rng: random.Random, _enc: str) -> bytes:
    doc = json.loads(data)
    rec = rng.choice(doc["data"])
    rec[rng.choice(list(rec))] = "LONG"
    number = "9" * rng.choice([30, 400, 5000])  # over 4,300 digits Python refuses to convert it
    return json.dumps(doc, ensure_ascii=False).replace('"LONG"', number, 1).encode()


def json_not_records(data: bytes, rng: random.Random, _enc: str) -> bytes:
    doc = json.loads(data)
    doc["data"] = rng.choice(["none", None, 42, [1, 2, 3], [[1, 2]], {"a": 1}, [{"x": 1}, "y"]])
    return json.dumps(doc).encode()


def json_odd_values(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """Values that are objects, lists, NaN, true, or keys that are empty or repeated."""
    doc = json.loads(data)
    for rec in doc["data"][: rng.randint(1, 10)]:
        key = rng.choice(list(rec))
        rec[key] = rng.choice([{"nested": [1, {"a": None}]}, [1, "二"], float("nan"), float("inf"), True, ""])
        rec[rng.choice(["", " ", "\x00", key.upper()])] = "extra"
    return json.dumps(doc, ensure_ascii=False).encode()


def json_half_characters(data: bytes, rng: random.Random, _enc: str) -> bytes:
    """Escapes of lone UTF-16 surrogates (half a character), in cells and in a key."""
    text = data.decode("utf-8")
    for _ in range(rng.randint(1, 4)):
        i = text.index('":"', rng.randrange(len(text) // 2)) + 3
        text = text[:i] + rng.choice(["\\ud800", "\\udfff", "\\ud83d"]) + text[i:]
    return text.replace('[{"', '[{"\\udc80":"x","', 1).encode()


JSON: list[Mutator] = [json_too_deep, json_long_number, json_not_records, json_odd_values, json_half_characters]


# --- the corpus ---------------------------------------------------------------------------------


def mutators_for(relative: str) -> tuple[list[Mutator], list[Mutator]]:
    """The mutations of the file's own format (every one is used) and the general ones (a sample is)."""
    suffix = PurePosixPath(relative).suffix
    if suffix == ".xlsx":
        return XLSX, ANY
    if suffix == ".json":
        return JSON, ANY + TEXT
    return [], ANY + TEXT


def encoding_of(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def build(inbox: Path, workdir: Path, *, seed: int = 20261204, per_file: int = 12) -> dict[str, str]:
    """Write the mutated files into ``inbox``; returns inbox-relative path -> the mutation that made it.

    Each base file gets every mutation of its format and general ones drawn without repeats, at least
    four and ``per_file`` in all; the names keep the base file's so that its source claims them.
    """
    rng = random.Random(seed)
    made: dict[str, str] = {}
    for rel, data in base_files(workdir).items():
        enc = "" if rel.endswith(".xlsx") else encoding_of(data)
        specific, general = mutators_for(rel)
        chosen = specific + rng.sample(general, min(len(general), max(4, per_file - len(specific))))
        path = PurePosixPath(rel)
        for n, mutate in enumerate(chosen, start=1):
            target = str(path.with_name(f"{path.stem}_fz{n:02d}_{mutate.__name__}{path.suffix}"))
            (inbox / target).parent.mkdir(parents=True, exist_ok=True)
            (inbox / target).write_bytes(mutate(data, rng, enc))
            made[target] = mutate.__name__
    return made

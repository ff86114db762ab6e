"""The publication configuration, the wire formats and the resident-ID pattern, without a database."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - parses what the test itself rendered
from pathlib import Path

import pytest
import yaml

from credit_platform.publish import config, formats
from credit_platform.publish.transport import Endpoint

ROOT = Path(__file__).resolve().parents[2]


def _shipped() -> dict:
    return yaml.safe_load((ROOT / "plugins/credit_platform/publish/publication.yml").read_text(encoding="utf-8"))


def test_the_shipped_configuration_reads_and_levels_nest():
    cfg = config.load()
    grades = cfg.datasets["grades"]
    public, internal = set(grades.levels["public"]), set(grades.levels["internal"])
    assert public < set(grades.levels["authorised"]) < internal and "score" not in public
    assert cfg.grade_level("statistics") == "internal" and cfg.grade_level("commerce") == "public"
    assert grades.columns_for("public") == grades.levels["public"]
    assert cfg.datasets["penalties"].columns_for("internal") == cfg.datasets["penalties"].levels["public"]
    assert cfg.platforms["province"].levels() == config.LEVELS and cfg.platforms["city"].levels() == ("public",)
    assert {p.format for p in cfg.platforms.values()} == {"csv", "json", "xml"}
    assert all(p.max_items is None for p in cfg.platforms.values())  # one batch per dataset and run


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["grade_disclosure"]["industries"].update(commerce="secret"), "grade_disclosure.industries.commerce"),
    (lambda d: d["datasets"]["grades"]["levels"]["public"].append("id_number"), "no header for column(s) id_number"),
    (lambda d: d["platforms"]["city"].update(transport="http", connection=None), "transport http needs a connection"),
    (lambda d: d["platforms"]["city"].update(format="pdf"), "platforms.city.format"),
    (lambda d: d["datasets"].pop("grades"), "datasets.grades is missing"),
    (lambda d: d.update(retry={"attempts": 0}), "at least 1"),
    (lambda d: d.pop("personal_data"), "uscc_registration_codes and uscc_provinces"),
    (lambda d: d["personal_data"].update(uscc_provinces=["1"]), "not two-digit codes: 1"),
    (lambda d: d.update(batch_items=20000), "one batch per dataset"),
    (lambda d: d["platforms"]["city"].update(max_items=0), "platforms.city.max_items"),
    (lambda d: d["main_reasons"]["labels"].update(cap="capped"), "main_reasons.labels.cap: Chinese only"),
    (lambda d: d["main_reasons"]["labels"].pop("veto"), "main_reasons.labels: give veto"),
])  # fmt: skip
def test_a_mistake_in_the_configuration_is_named(change, message):
    data = _shipped()
    change(data)
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.parse(data)


def _meta(columns=("uscc", "subject_name", "score", "is_vetoed", "period_end_date")) -> formats.Meta:
    headers = {"uscc": "统一社会信用代码", "subject_name": "主体名称", "score": "评价得分", "is_vetoed": "是否一票否决",
               "period_end_date": "评价截止日期"}  # fmt: skip
    return formats.Meta("province", "省平台", "grades", "行业信用评价结果", "province.grades.k1", columns, headers,
                        dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                        {"sender": "怀仁市发展和改革局", "security_type": "内部"})  # fmt: skip


ITEMS = [
    formats.Item("commerce|U1|2025-H2", "upsert", "public",
                 {"uscc": "91140681MA0K1234XX", "subject_name": "甲公司", "score": decimal.Decimal("85.50"),
                  "is_vetoed": False, "period_end_date": dt.date(2025, 12, 31)}),
    formats.Item("commerce|U2|2025-H2", "withdraw", "authorised", {}),
]  # fmt: skip


def test_csv_is_gb18030_with_an_action_column():
    data = formats.render("csv", _meta(), ITEMS)
    table = list(csv.reader(io.StringIO(data.decode("gb18030"))))
    assert table[0] == ["操作", "记录键", "公开级别", "统一社会信用代码", "主体名称", "评价得分", "是否一票否决",
                        "评价截止日期"]  # fmt: skip
    assert table[1][0] == "新增或更新" and table[1][5:] == ["85.50", "否", "2025-12-31"]
    assert table[2][:2] == ["撤回", "commerce|U2|2025-H2"] and set(table[2][3:]) == {""}
    assert [r[2] for r in table[1:]] == ["完全公开", "依授权公开"]  # 公开级别 in Chinese, as publication.yml names it


def test_xml_is_the_exchange_envelope():
    root = ET.fromstring(formats.render("xml", _meta(), ITEMS))  # noqa: S314
    header = root.find("Header")
    assert [e.tag for e in header][:7] == ["Sender", "Receiver", "Flow", "Item", "SerialNumber", "SecurityType",
                                           "Operator"]  # fmt: skip
    assert header.findtext("SerialNumber") == "province.grades.k1" and header.findtext("Receiver") == "省平台"
    first, second = root.find("Body")
    assert first.get("action") == "新增或更新" and first.findtext("subject_name") == "甲公司"
    assert second.get("action") == "撤回" and len(second) == 0
    assert (first.get("level"), second.get("level")) == ("完全公开", "依授权公开")


def test_manifest_counts_and_hash():
    data = formats.render("json", _meta(), ITEMS)
    doc = json.loads(formats.manifest(_meta(), "json", "f.json", data, ITEMS, "ab" * 32))
    assert doc["rows"] == {"total": 2, "upsert": 1, "withdraw": 1} and doc["encoding"] == "UTF-8"
    assert json.loads(data)["records"][1] == {"action": "withdraw", "key": "commerce|U2|2025-H2",
                                              "disclosure_level": "authorised", "fields": {}}  # fmt: skip


def _manifest(fmt: str) -> tuple[bytes, dict]:
    data = formats.render(fmt, _meta(), ITEMS)
    return data, json.loads(formats.manifest(_meta(), fmt, f"f.{fmt}", data, ITEMS, "ab" * 32))


def test_a_csv_manifest_lists_the_files_header_with_names_and_codes_and_maps_the_codes_back():
    data, doc = _manifest("csv")
    header, *records = list(csv.reader(io.StringIO(data.decode("gb18030"), newline="")))
    assert [c["name"] for c in doc["columns"]] == header  # every column, in file order
    assert [c["code"] for c in doc["columns"]] == ["action", "record_key", "disclosure_level", *_meta().columns]
    assert doc["columns"][2] == {"name": "公开级别", "code": "disclosure_level"}
    back = {column: {v["value"]: v["code"] for v in values} for column, values in doc["codes"].items()}
    rows = [dict(zip((c["code"] for c in doc["columns"]), r, strict=True)) for r in records]
    assert [(back["action"][r["action"]], back["disclosure_level"][r["disclosure_level"]]) for r in rows] == [
        ("upsert", "public"), ("withdraw", "authorised")]  # fmt: skip
    assert {v["name"] for v in doc["codes"]["disclosure_level"]} == set(_shipped()["levels"].values())


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_json_or_xml_manifest_lists_the_codes_each_record_carries(fmt):
    data, doc = _manifest(fmt)
    codes = [c["code"] for c in doc["columns"]]
    if fmt == "json":
        first = json.loads(data)["records"][0]
        assert codes == [*list(first)[:3], *first["fields"]]
        values = (first["action"], first["disclosure_level"])
        assert values == ("upsert", "public")  # JSON's keys are codes: so are its values
    else:
        first = ET.fromstring(data).find("Body")[0]  # noqa: S314
        assert codes == [*first.keys(), *(e.tag for e in first)]
        values = (first.get("action"), first.get("level"))
    assert [c["name"] for c in doc["columns"]][:3] == ["操作", "记录键", "公开级别"]
    back = {column: {v["value"]: v["code"] for v in vs} for column, vs in doc["codes"].items()}
    assert (back[codes[0]][values[0]], back[codes[2]][values[1]]) == ("upsert", "public")


def test_a_run_sends_all_its_changes_in_one_batch_unless_the_platform_limits_a_file():
    from credit_platform.publish import run

    cols = ("uscc", "grade")
    desired = [(f"commerce|U{i:05d}|2025-H2|A", "public", [f"U{i:05d}", "A"], None) for i in range(25_000)]
    changes = list(run.changes(iter(desired), iter([("commerce|U99999|2025-H2|B", "public")]), cols))
    assert len(changes) == 25_001 and changes[-1][0].action == "withdraw"
    assert changes[0][0].values == {"uscc": "U00000", "grade": "A"}
    assert run.batch_sizes(25_001) == [25_001]  # one batch per platform and dataset, however many changes
    assert run.batch_sizes(25_001, 10_000) == [10_000, 10_000, 5_001]
    assert run.batch_sizes(0) == [] and run.batch_sizes(0, 10) == []
    assert [d for _, d in changes] == [None] * 25_000 + [None]  # the digests given are the digests kept
    one = [(k, lv, v, "ab" * 32) for k, lv, v, _ in desired[7:8]]
    assert [(it.key, d) for it, d in run.changes(one, [], cols)] == [("commerce|U00007|2025-H2|A", "ab" * 32)]


def test_csv_text_that_a_spreadsheet_would_run_is_neutralised_reversibly():
    originals = ['=HYPERLINK("http://x","点我")', "@SUM(A1)", "+1", "-2", "\t制表符开头", "\r回车开头", "'已有引号",
                 "''两个", "普通文本", "a=b"]  # fmt: skip
    meta = _meta(columns=("uscc", "subject_name", "score", "is_vetoed", "period_end_date"))
    items = [formats.Item(f"k{i}", "upsert", "public", {"uscc": "91140681MA0K1234XX", "subject_name": text,
                                                       "score": decimal.Decimal("-2.5"), "is_vetoed": False,
                                                       "period_end_date": dt.date(2025, 12, 31)})
             for i, text in enumerate(originals)]  # fmt: skip
    data = formats.render("csv", meta, items)
    table = list(csv.reader(io.StringIO(data.decode("gb18030"), newline="")))
    names = [r[4] for r in table[1:]]
    assert names[:8] == ["'" + t for t in originals[:8]] and names[8:] == originals[8:]
    assert {r[5] for r in table[1:]} == {"-2.5"}  # a negative number stays a number
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for r in table for c in r if c != "-2.5")
    doc = json.loads(formats.manifest(meta, "csv", "f.csv", data, items, "ab" * 32))
    how = doc["csv_escaping"]
    assert how["method"] == "leading_apostrophe" and "apostrophe" in how["undo"]
    # the receiver's undo, as the manifest words it: drop the first apostrophe of a cell that has one
    assert [n[1:] if n.startswith("'") else n for n in names] == originals
    assert [formats.csv_unescape(n) for n in names] == originals
    assert "csv_escaping" not in json.loads(formats.manifest(meta, "json", "f.json", data, items, "ab" * 32))


def test_the_resident_id_pattern():
    from expectations import publication

    pattern = re.compile(publication.RESIDENT_ID)
    for text in ["140681199001011234", "14068119900101123X", "负责人14068120050229001x，电话", "140681900101123"]:
        assert pattern.search(text), text
    for text in ["91140681MA0K1234XY", "111406811106018516", "怀市监罚〔2025〕12号", "JY11406810012345",
                 "1140681199001011234", "140681199013011234"]:  # fmt: skip
        assert not pattern.search(text), text


def test_an_http_platform_is_reached_as_its_airflow_connection_says():
    from types import SimpleNamespace

    from credit_platform.publish.transport import endpoint_from_connection

    conn = SimpleNamespace(host="share.example.gov.cn", schema="https", port=8443, password="t0ken",
                           extra_dejson={"path": "/api/credit/receive"})  # fmt: skip
    assert endpoint_from_connection(conn) == Endpoint("https://share.example.gov.cn:8443/api/credit/receive", "t0ken")
    bare = SimpleNamespace(host="http://10.0.0.5", schema=None, port=None, password=None, extra_dejson={"token": "x"})
    assert endpoint_from_connection(bare) == Endpoint("http://10.0.0.5", "x")


@pytest.mark.parametrize("name", ["grades", "inspection_list", "inspection_form"])
def test_workbook_headers_are_the_yamls(name):
    """A workbook's sheet, title and headers are written as publication.yml (and, for a form read
    back by the ingest, sources.yml) spell them: no header lives in the code."""
    from openpyxl import load_workbook

    from credit_platform.publish import workbooks

    spec = _shipped()["workbooks"][name]
    if "source" in spec:
        source = yaml.safe_load((ROOT / "plugins/credit_platform/ingest/sources.yml").read_text(encoding="utf-8"))
        expected = [c["headers"][0] for c in source[spec["source"]]["columns"].values()]
    else:
        dataset = _shipped()["datasets"].get(spec.get("dataset"), {}).get("columns", {})
        expected = [v[0] if len(v) == 3 else dataset[c] for c, v in spec["columns"].items()]
    row = tuple("1" for _ in expected)
    if name == "grades":
        row = (*row[:7], 1.5, row[8], "internal")
    ws = load_workbook(io.BytesIO(workbooks.render([row], period="2025-H2", workbook=name))).active
    assert [c.value for c in ws[1]] == expected
    assert ws.title == spec["sheet"] and ws.oddHeader.center.text == f"2025-H2 {spec['title']}"
    if name == "grades":
        assert ws.cell(row=2, column=len(expected)).value == _shipped()["levels"]["internal"]


def test_a_workbook_column_without_a_header_is_named():
    data = _shipped()
    data["workbooks"]["grades"]["columns"]["no_such_column"] = [10, "text"]
    with pytest.raises(config.ConfigError, match="workbooks.grades.columns.no_such_column"):
        config.parse(data)


def test_export_headers_are_the_yamls():
    """The publication CSV's leading columns, the what-if CSV and the overdue listing are headed as
    publication.yml's ``exports`` say, and name fields their writers have."""
    import dataclasses

    from credit_platform.grading import whatif
    from credit_platform.inspection.lists import Overdue

    exports = _shipped()["exports"]
    assert whatif.changed_columns() == list(exports["whatif_changes"].items())
    assert set(exports["overdue_results"]) <= {f.name for f in dataclasses.fields(Overdue)}
    meta = formats.Meta(platform="city", platform_title="信用怀仁", dataset="grades", dataset_title="行业信用评价结果",
                        idempotency_key="k", columns=("uscc",), headers={"uscc": "统一社会信用代码"},
                        created_at=dt.datetime(2026, 1, 1), envelope={})  # fmt: skip
    header = next(csv.reader(io.StringIO(formats.render("csv", meta, []).decode("gb18030"))))
    assert header == [*exports["publication_csv"].values(), "统一社会信用代码"]


def test_a_wrapped_cell_gets_the_height_of_its_lines_when_printed():
    from openpyxl import load_workbook

    from credit_platform.publish import workbooks

    assert workbooks.wrapped_lines("", 30) == 1
    assert workbooks.wrapped_lines("降低“双随机”抽查比例和频次", 30) == 1  # 14 wide: 28 of 28.5
    assert workbooks.wrapped_lines("降低“双随机”抽查比例和频次和", 30) == 2
    assert workbooks.wrapped_lines("a" * 57 + "\n" + "b", 30) == 3
    basis = "《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》（国发〔2016〕33号）"
    data = workbooks.render([("M-1", "日常监管", "常规", "执法检查科", basis), ("M-2", "短", "常规", "科", "短")],
                           period="2025-H2", workbook="measure_basis")  # fmt: skip
    ws = load_workbook(io.BytesIO(data)).active
    width = dict(zip((c for c, *_ in config.load().workbooks["measure_basis"].columns),
                     (w for _, _, w, _ in config.load().workbooks["measure_basis"].columns), strict=True))
    assert ws.row_dimensions[2].height == workbooks.LINE_POINTS * workbooks.wrapped_lines(basis, width["legal_basis"])
    assert ws.row_dimensions[2].height >= 2 * workbooks.LINE_POINTS and ws.row_dimensions[3].height is None


def _xml_by_element_tree(meta: formats.Meta, items: list[formats.Item]) -> bytes:
    """The envelope as an element tree per record would serialise it (how the XML was first written)."""
    header = formats.render("xml", meta, []).split(b"<Body>")[0].replace(b"<RecordCount>0<", b"<RecordCount>%d<"
                                                                        % len(items))  # fmt: skip
    out = [header.decode("utf-8"), "<Body>"]
    for it in items:
        record = ET.Element("Record", {"action": formats.action_text("xml", it.action), "key": it.key,
                                       "level": formats.level_text("xml", it.level)})  # fmt: skip
        if it.action == "upsert":
            for c in meta.columns:
                ET.SubElement(record, c).text = formats.text(it.values.get(c))
        out.append(ET.tostring(record, encoding="unicode"))
    out.append("</Body></ExchangeMessage>")
    return "".join(out).encode("utf-8")


def test_the_xml_records_are_the_bytes_an_element_tree_would_write():
    awkward = ['a & b < c > d "e" \'f\'', "tab\there", "line\nbreak\r\nend", "", "  ", "全角＆", "&amp;", "]]>"]
    items = [formats.Item(f"k{i}|{text}", "upsert", "public",
                          {"uscc": text, "subject_name": text, "score": decimal.Decimal("-0.50"), "is_vetoed": True,
                           "period_end_date": None})
             for i, text in enumerate(awkward)]  # fmt: skip
    items.append(formats.Item('w|"&<>\t', "withdraw", "authorised", {}))
    assert formats.render("xml", _meta(), items) == _xml_by_element_tree(_meta(), items)


def test_a_csv_batch_written_in_chunks_is_the_same_bytes_as_written_whole():
    items = ITEMS * 1500  # more rows than one chunk
    out = io.BytesIO()
    formats.write("csv", _meta(), iter(items), out, len(items))
    whole = io.StringIO(newline="")
    w = csv.writer(whole, lineterminator="\r\n")
    w.writerow([c["name"] for c in formats.columns("csv", _meta())])
    for it in items:
        cells = [formats.csv_cell(it.values.get(c)) for c in _meta().columns]
        w.writerow([formats.action_text("csv", it.action), formats.csv_cell(it.key),
                    formats.level_text("csv", it.level), *cells])
    assert out.getvalue() == whole.getvalue().encode("gb18030")

"""A corpus of bad or awkward input files (built at test time by ``tests/corpus.py``), each loaded into a
scratch database with its exact outcome asserted.

A file that loads: the batch's counts, every rejected row's reason codes by row number, the protected
rows, chosen cells as they landed in the raw table, and that every row read is accounted for once
(loaded, protected or rejected: rows in = rows loaded + rows rejected). A file that cannot be read:
``LoadError`` naming the file and the cause, the batch ``failed`` with that message, nothing kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import corpus
import psycopg
import pytest
from corpus import (
    AUTHORITY,
    FORMULAS,
    FUJIAN_PILOT,
    FULL_WIDTH_GOOD,
    GOOD,
    HYPHENATED_THIRD,
    OTHER,
    SQL_NAME,
    THIRD,
    TRICKY_NAMES,
    big_ascii_facts,
    big_facts,
)
from psycopg import sql

from credit_platform.ingest import loader
from credit_platform.ingest.config import source_for
from credit_platform.quality.raw_gate import DEFAULT_MAX_REJECTED_SHARE
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 15)
JAN5 = dt.date(2024, 1, 5)


@dataclass(frozen=True)
class Loads:
    """The file loads: its counts, and what must hold of its rows."""

    rows_in: int
    rows_loaded: int
    rows_rejected: int
    rows_protected: int = 0
    rejected: dict[int, list[str]] = field(default_factory=dict)  # row number -> reason codes
    protected: tuple[int, ...] = ()  # row numbers kept in raw.protected_person_records
    raw: dict[int, dict[str, object]] = field(default_factory=dict)  # row -> {raw column or SQL expression: value}
    record: dict[int, dict[str, object]] = field(default_factory=dict)  # rejected or protected row -> cells
    message: str = ""  # a part of the batch's message (how the file was read)
    blank_lines: int = 0  # blank lines or lines of empty cells among the data: numbered, not rows


@dataclass(frozen=True)
class Refused:
    """The file cannot be read: the cause in the error and in the failed batch's message."""

    cause: str


def _whole_facts(text: str) -> dict[str, object]:
    """The facts cell holds exactly ``text`` (compared by length and digest, not printed when it differs)."""
    data = text.encode()
    return {"octet_length(facts)": len(data), "md5(facts)": hashlib.md5(data).hexdigest()}


EXPECTED: dict[str, Loads | Refused] = {
    # awkward shapes of CSV and workbook files
    "title_line_break_python_path": Loads(3, 3, 0, raw={4: {"decision_number": "怀市监罚〔2025〕title_break_py-3号"}},
                                          message="read by Python", blank_lines=1),  # fmt: skip
    "header_cell_with_line_break": Loads(2, 2, 0, raw={1: {"ops.to_number(fine_amount)": Decimal("0.5")}},
                                         message="PostgreSQL COPY"),  # fmt: skip
    "carriage_return_line_endings": Loads(1, 1, 0),
    "lines_of_empty_cells_at_the_end": Loads(1, 1, 0, message="PostgreSQL COPY", blank_lines=2),
    "xlsx_cell_beyond_the_header": Loads(2, 1, 1, rejected={2: ["row_too_many_cells"]},
                                         record={2: {"_cells_beyond_header": [None, "备注写在表外"]}}),  # fmt: skip
    "json_empty_push": Loads(0, 0, 0),
    "ten_megabyte_ascii_cell": Loads(2, 2, 0, raw={1: _whole_facts(big_ascii_facts())}),
    # encodings
    "gb18030_penalties": Loads(2, 2, 0, raw={1: {"subject_name": "怀仁市甲乙商贸有限公司"},
                                             2: {"subject_name": "怀仁市䶮鑫商贸有限公司", "uscc": OTHER}},
                               message="encoding gb18030"),  # fmt: skip
    "gbk_province": Loads(2, 2, 0, raw={1: {"subject_name": "怀仁市甲乙商贸有限公司", "grade": "A", "score": "91.5"},
                                        2: {"subject_name": "怀仁市丙丁建筑工程有限公司", "grade": "B-"}},
                          message="encoding gb18030"),  # fmt: skip
    "utf8_with_bom": Loads(1, 1, 0, raw={1: {"subject_name": "怀仁市甲乙商贸有限公司", "uscc": GOOD}},
                           message="straight into the raw table; encoding utf-8-sig"),  # fmt: skip
    "utf8_without_bom": Loads(2, 2, 0, raw={2: {"uscc": OTHER}}, message="encoding utf-8"),
    "utf16_refused": Refused("neither UTF-8 nor GB18030 (undecodable bytes near byte 0)"),
    "undecodable_bytes_refused": Refused("neither UTF-8 nor GB18030 (undecodable bytes near byte"),
    # where the header is
    "csv_title_rows": Loads(2, 2, 0, raw={1: {"decision_number": "怀市监罚〔2025〕csv_title-1号", "uscc": GOOD},
                                          2: {"decision_number": "怀市监罚〔2025〕csv_title-2号", "uscc": OTHER}},
                            message="encoding utf-8-sig"),  # fmt: skip
    "xlsx_title_rows": Loads(2, 2, 0, raw={1: {"uscc": GOOD, "grade": "A-", "score": "88",
                                               "ops.to_date(evaluation_date)": dt.date(2025, 7, 31)},
                                           2: {"uscc": OTHER, "grade": "C+", "score": "60.5"}},
                             message="sheet 评价结果"),  # fmt: skip
    "xlsx_merged_title": Loads(2, 2, 0, raw={1: {"decision_number": "怀市监罚〔2025〕xlsx_merged-1号", "uscc": GOOD},
                                             2: {"uscc": OTHER}}, message="sheet Sheet1"),  # fmt: skip
    "xlsx_second_sheet": Loads(1, 1, 0, raw={1: {"decision_number": "怀市监罚〔2025〕xlsx_sheet2-1号"}},
                               message="sheet 处罚信息"),  # fmt: skip
    "header_below_search_window_refused": Refused("no header row with known column names in the first rows"),
    "semicolon_separated_refused": Refused("no header row with known column names in the first rows"),
    # header spellings
    "shuffled_columns": Loads(2, 2, 0, raw={2: {"subject_name": "怀仁市丙丁建筑工程有限公司", "uscc": OTHER,
                                                "fine_amount": "2", "decision_date": "2025-03-01",
                                                "authority_name": AUTHORITY, "penalty_category": "罚款"}}),  # fmt: skip
    "misspelt_required_header_quarantined": Loads(1, 0, 1, rejected={1: ["required_column_missing"]}),
    "misspelt_optional_header": Loads(2, 2, 0, raw={1: {"authority_name": None, "decision_date": "2025-03-01",
                                                        "subject_name": "怀仁市甲乙商贸有限公司"}}),  # fmt: skip
    "chinese_labels_fullwidth": Loads(2, 2, 0, raw={1: {"subject_name": "怀仁市甲乙商贸有限公司", "uscc": GOOD,
                                                        "decision_date": "2025-03-01", "authority_name": AUTHORITY},
                                                    2: {"fine_amount": "1.2"}}),  # fmt: skip
    # empty files
    "empty_file_refused": Refused("the file is empty"),
    "blank_lines_only_refused": Refused("the file is empty"),
    "header_only": Loads(0, 0, 0),
    "xlsx_header_only": Loads(0, 0, 0),
    # rows
    "duplicated_rows": Loads(3, 3, 0, raw={1: {"decision_number": "怀市监罚〔2025〕dup_rows-1号", "uscc": GOOD},
                                           2: {"decision_number": "怀市监罚〔2025〕dup_rows-1号", "uscc": GOOD}}),
    "province_duplicate_and_conflict": Loads(5, 3, 2, rejected={3: ["grade_conflict"], 4: ["grade_conflict"]},
                                             raw={1: {"grade": "B"}, 2: {"grade": "B"},
                                                  5: {"grade": "C", "evaluation_date": "2025-03-31"}},
                                             record={3: {"评价等级": "A"}, 4: {"评价等级": "C"}}),  # fmt: skip
    "province_grade_spellings": Loads(
        6, 2, 4, rejected={2: ["grade_invalid"], 3: ["grade_class_word"], 4: ["score_unparseable"],
                           5: ["required_missing"]},
        raw={1: {"grade": "b+", "ops.to_grade(grade)": "B+"},
             6: {"ops.to_grade(grade)": "C-", "score": None, "ops.to_date(evaluation_date)": dt.date(2025, 5, 30)}},
        record={4: {"评价得分": "九十"}, 5: {"评价等级": None}}),  # fmt: skip
    "invalid_usccs": Loads(5, 1, 4, rejected={1: ["uscc_invalid_checksum"], 2: ["uscc_invalid_format"],
                                              3: ["uscc_invalid_format"], 4: ["uscc_missing"]},
                           raw={5: {"uscc": OTHER}},
                           record={2: {"CF_XDR_SHXYM": GOOD[:17]}, 3: {"CF_XDR_SHXYM": "91140681MA0KI23O4X"},
                                   4: {"CF_XDR_SHXYM": None}}),  # fmt: skip
    "legacy_uscc": Loads(1, 1, 0, raw={1: {"uscc": FUJIAN_PILOT, "uscc_original": None,
                                           "flags": ["uscc_legacy_checksum", "division_outside_city"]}}),  # fmt: skip
    "uscc_spellings_normalised": Loads(
        3, 3, 0, raw={1: {"uscc": GOOD, "uscc_original": FULL_WIDTH_GOOD, "flags": []},
                      2: {"uscc": OTHER, "uscc_original": OTHER.lower()},
                      3: {"uscc": THIRD, "uscc_original": HYPHENATED_THIRD}}),  # fmt: skip
    "dates_future_and_forms": Loads(
        7, 5, 2, rejected={1: ["event_date_in_future"], 7: ["date_unparseable"]},
        raw={2: {"publication_end_date": "2099-12-31", "ops.to_date(publication_end_date)": dt.date(2099, 12, 31)},
             3: {"decision_date": "2024年1月5日", "ops.to_date(decision_date)": JAN5},
             4: {"ops.to_date(decision_date)": JAN5}, 5: {"ops.to_date(decision_date)": JAN5},
             6: {"decision_date": "45296", "ops.to_date(decision_date)": JAN5}},
        record={7: {"CF_JDRQ": "去年三月"}}),  # fmt: skip
    "licence_validity_in_future": Loads(
        2, 1, 1, rejected={2: ["event_date_in_future"]},
        raw={1: {"valid_to": "2030-01-31", "ops.to_date(valid_to)": dt.date(2030, 1, 31)}},
        record={2: {"XK_JDRQ": "2026-12-01"}}),  # fmt: skip
    "amounts_negative_and_unparseable": Loads(
        6, 2, 4, rejected={1: ["amount_negative"], 2: ["amount_unparseable"], 3: ["amount_unparseable"],
                           5: ["amount_negative"]},
        raw={4: {"fine_amount": "1,000", "ops.to_number(fine_amount)": Decimal(1000)}, 6: {"fine_amount": None}},
        record={2: {"CF_NR_FK": "五千元"}, 3: {"CF_NR_FK": "0.5万元"}, 5: {"CF_NR_FK": "０.３", "CF_NR_WFFF": "-1"}}),
    "ten_megabyte_cell": Loads(2, 2, 0, raw={1: _whole_facts(big_facts()),
                                             2: {"facts": "当事人未按规定公示年度报告。"}}),  # fmt: skip
    "ten_megabyte_cell_python_path": Loads(2, 2, 0, raw={1: _whole_facts(big_facts()),
                                                         3: {"facts": "当事人未按规定公示年度报告。"}},
                                           message="read by Python", blank_lines=1),  # fmt: skip
    "formula_text_csv": Loads(5, 5, 0, raw={n: {"subject_name": f, "remarks": f}
                                            for n, f in enumerate(FORMULAS, start=1)}),  # fmt: skip
    "formula_text_xlsx": Loads(3, 3, 0, raw={n: {"subject_name": f, "remarks": f}
                                             for n, f in enumerate(FORMULAS[:3], start=1)}),  # fmt: skip
    "quotes_commas_line_breaks_sql": Loads(7, 7, 0, raw={n: {"subject_name": name}
                                                         for n, name in enumerate(TRICKY_NAMES, start=1)}),  # fmt: skip
    # damaged or mislabelled files
    "truncated_xlsx_refused": Refused("not a readable XLSX workbook (BadZipFile"),
    "csv_named_xlsx_refused": Refused("not a readable XLSX workbook (BadZipFile: File is not a zip file)"),
    "xlsx_without_header_refused": Refused("no sheet has a header row with known column names"),
    # who the rows are about
    "natural_persons": Loads(4, 4, 0, rows_protected=2, protected=(2, 3), raw={1: {"uscc": GOOD}, 4: {"uscc": OTHER}},
                             record={2: {"CF_XDR_MC": "张三", "CF_XDR_ZJHM": "140681199001011234"},
                                     3: {"CF_XDR_MC": "李四", "CF_NR_FK": "-1"}}),  # fmt: skip
    # the shape of rows
    "ragged_rows": Loads(6, 4, 2, rejected={2: ["row_too_many_cells"], 5: ["required_missing"]},
                         raw={3: {"authority_name": AUTHORITY},
                              4: {"decision_date": "2025-03-01", "publication_end_date": None, "authority_name": None}},
                         record={5: {"CF_NR_FK": "0.5", "CF_JDRQ": None}}, message="read by Python"),  # fmt: skip
    "blank_line_in_the_middle": Loads(3, 2, 1, rejected={5: ["amount_negative"]},
                                      raw={1: {"subject_name": TRICKY_NAMES[2]}, 2: {"subject_name": SQL_NAME}},
                                      record={5: {"CF_XDR_MC": TRICKY_NAMES[1], "CF_NR_FK": "-3"}},
                                      message="read by Python", blank_lines=2),  # fmt: skip
    "title_with_line_break": Loads(2, 2, 0, raw={1: {"decision_number": "怀市监罚〔2025〕title_break-1号"},
                                                 2: {"decision_number": "怀市监罚〔2025〕title_break-2号"}},
                                   message="PostgreSQL COPY"),  # fmt: skip
    "header_repeated_mid_file": Loads(
        3, 2, 1, rejected={2: ["uscc_invalid_format", "penalty_category_unknown", "amount_unparseable",
                               "date_unparseable", "date_unparseable"]},
        raw={1: {"uscc": GOOD}, 3: {"uscc": OTHER}}, record={2: {"CF_XDR_SHXYM": "CF_XDR_SHXYM"}}),  # fmt: skip
    "nul_byte_in_cell": Loads(2, 2, 0, raw={1: {"subject_name": "怀仁市甲乙商贸有限公司",
                                                "flags": ["nul_character_removed@subject_name"]},
                                            2: {"flags": []}}, message="read by Python"),  # fmt: skip
    "xlsx_formula_without_value": Loads(
        3, 3, 0, raw={1: {"fine_amount": "0.5", "flags": []},
                      2: {"fine_amount": None, "flags": ["formula_without_value@fine_amount"]},
                      3: {"fine_amount": None, "flags": ["formula_without_value@fine_amount"]}},
        message="sheet Sheet1"),  # fmt: skip
    # province JSON
    "json_wrapped_records": Loads(
        3, 2, 1, rejected={3: ["grade_invalid"]},
        raw={1: {"uscc": GOOD, "grade": "A", "score": "93.5", "push_batch_no": "API-1"},
             2: {"score": "81", "evaluation_date": "2025年6月30日",
                 "ops.to_date(evaluation_date)": dt.date(2025, 6, 30)}},
        record={3: {"evalGrade": "E", "creditCode": THIRD}}),  # fmt: skip
    "json_invalid_refused": Refused("invalid JSON (Unterminated string"),
    # dates in workbooks
    "xlsx_serial_and_date_cells": Loads(
        5, 4, 1, rejected={5: ["event_date_in_future"]},
        raw={1: {"decision_date": "45296", "ops.to_date(decision_date)": JAN5},
             2: {"decision_date": "2024-01-05", "ops.to_date(decision_date)": JAN5},
             3: {"decision_date": "2024-01-05 09:30:00", "ops.to_date(decision_date)": JAN5},
             4: {"decision_date": "2024年1月5日", "ops.to_date(decision_date)": JAN5}},
        record={5: {"CF_JDRQ": "73051"}}),  # fmt: skip
    # registers
    "inspector_roster": Loads(
        3, 3, 0, raw={1: {"department_code": "scjgj", "inspector_id": "scjgj-101", "conflict_usccs": f"{GOOD};{OTHER}"},
                      2: {"conflict_usccs": None, "ops.to_text_list(conflict_usccs)": []},
                      3: {"ops.to_text_list(conflict_usccs)": [GOOD, THIRD, OTHER]}}),  # fmt: skip
    "inspector_roster_unknown_department_refused": Refused("unknown department code 'nosuchdept' in the path"),
    "subject_register_xlsx": Loads(
        3, 2, 1, rejected={3: ["event_date_in_future"]},
        raw={1: {"established_date": "2015-03-02", "old_registration_number": "140681200012345", "flags": []},
             2: {"subject_name": "北京某某科技有限公司", "flags": ["division_outside_city"]}},
        record={3: {"成立日期": "2099-01-01"}}),  # fmt: skip
}


@pytest.fixture(scope="module")
def db(migrated_database):
    with migrated_database("corpus") as url:
        yield url


def test_every_case_has_an_expected_outcome():
    assert set(EXPECTED) == set(corpus.CASES)
    assert len(corpus.CASES) >= 30
    assert all(fn.__doc__ for fn in corpus.CASES.values())


def test_the_corpus_is_deterministic_and_every_file_distinct(tmp_path):
    """The same bytes on every build (a second later too), and no two files alike (else the second would
    load as a duplicate)."""
    first = {case_id: (tmp_path / "a" / build(tmp_path / "a")).read_bytes() for case_id, build in corpus.CASES.items()}
    time.sleep(1.1)  # workbooks carry times to the second
    digests: dict[str, list[str]] = {}
    for case_id, build in corpus.CASES.items():
        assert (tmp_path / "b" / build(tmp_path / "b")).read_bytes() == first[case_id], case_id
        digests.setdefault(hashlib.sha256(first[case_id]).hexdigest(), []).append(case_id)
    assert [ids for ids in digests.values() if len(ids) > 1] == []


@pytest.mark.parametrize("case_id", list(EXPECTED))
def test_corpus_file(db, tmp_path, case_id):
    inbox = tmp_path / "inbox"
    rel = corpus.CASES[case_id](inbox)
    expected = EXPECTED[case_id]
    if isinstance(expected, Refused):
        _assert_refused(db, inbox, rel, expected)
    else:
        _assert_loaded(db, inbox, rel, expected)
    with psycopg.connect(libpq_url(db)) as conn:  # whatever the file held, the tables are all still there
        assert conn.execute("SELECT to_regclass('raw.penalties') IS NOT NULL AND to_regclass('ops.load_batches')"
                            " IS NOT NULL AND to_regclass('ops.rejected_rows') IS NOT NULL").fetchone()[0]  # fmt: skip


def _load(db: str, inbox: Path, rel: str) -> loader.LoadResult:
    return loader.load_file(libpq_url(url_for("loader", db)), rel, inbox=inbox, archive_dir=inbox.parent / "archive",
                            as_of=AS_OF)  # fmt: skip


def _batch(conn, rel: str) -> tuple:
    return conn.execute(
        "SELECT status, rows_in, rows_loaded, rows_rejected, rows_protected, message FROM ops.load_batches"
        " WHERE source_file = %s ORDER BY batch_id DESC LIMIT 1", (rel,)).fetchone()  # fmt: skip


def _assert_refused(db: str, inbox: Path, rel: str, expected: Refused) -> None:
    with pytest.raises(loader.LoadError) as info:
        _load(db, inbox, rel)
    message = str(info.value)
    assert message.startswith(f"{rel}: ") and expected.cause in message, message
    table = source_for(rel).table
    with psycopg.connect(libpq_url(db)) as conn:
        status, rows_in, _, _, _, batch_message = _batch(conn, rel)
        assert (status, rows_in, batch_message) == ("failed", None, message)
        kept = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE source_file = %s").format(
            sql.Identifier(*table.split("."))), (rel,)).fetchone()[0]  # fmt: skip
        rejected = conn.execute("SELECT count(*) FROM ops.rejected_rows WHERE source_file = %s", (rel,)).fetchone()[0]
    assert (kept, rejected) == (0, 0)


def _assert_loaded(db: str, inbox: Path, rel: str, expected: Loads) -> None:
    result = _load(db, inbox, rel)
    counts = (expected.rows_in, expected.rows_loaded, expected.rows_rejected, expected.rows_protected)
    # The raw quality gate quarantines a batch with more than the allowed share of rejected rows.
    gated = "quarantined" if expected.rows_rejected > DEFAULT_MAX_REJECTED_SHARE * expected.rows_in else "loaded"
    assert result.status == gated, result.quarantine_reason
    assert (result.rows_in, result.rows_loaded, result.rows_rejected, result.rows_protected) == counts
    assert result.rows_in == result.rows_loaded + result.rows_rejected
    table = sql.Identifier(*source_for(rel).table.split("."))
    with psycopg.connect(libpq_url(db)) as conn:
        status, *batch_counts, message = _batch(conn, rel)
        assert (status, tuple(batch_counts)) == (gated, counts)
        assert expected.message in message, message
        rejected = {n: (first, codes) for n, first, codes in conn.execute(
            "SELECT row_number, reason_code, reason_codes FROM ops.rejected_rows WHERE source_file = %s",
            (rel,))}  # fmt: skip
        assert {n: sorted(codes) for n, (_, codes) in rejected.items()} == {
            n: sorted(codes) for n, codes in expected.rejected.items()}
        assert all(first == codes[0] for first, codes in rejected.values())
        kept = [n for (n,) in conn.execute(sql.SQL("SELECT row_number FROM {} WHERE source_file = %s").format(table),
                                           (rel,))]  # fmt: skip
        protected = [n for (n,) in conn.execute(
            "SELECT row_number FROM raw.protected_person_records WHERE source_file = %s", (rel,))]  # fmt: skip
        assert sorted(protected) == list(expected.protected)
        # Every row read is in exactly one place: nothing dropped, nothing twice. Rows are numbered by
        # their place after the header; a blank line keeps its number but is not a row.
        placed = kept + protected + list(rejected)
        assert len(placed) == len(set(placed)) == expected.rows_in
        assert set(placed) <= set(range(1, expected.rows_in + 1 + expected.blank_lines))
        for n, cells in expected.raw.items():
            exprs = sql.SQL(", ").join(sql.SQL(c) if "(" in c else sql.Identifier(c) for c in cells)
            got = conn.execute(sql.SQL("SELECT {} FROM {} WHERE source_file = %s AND row_number = %s").format(
                exprs, table), (rel, n)).fetchone()  # fmt: skip
            assert got is not None, f"row {n} is not in {table.as_string(conn)}"
            assert dict(zip(cells, got, strict=True)) == cells, n
        records = dict(conn.execute(
            "SELECT row_number, record FROM ops.rejected_rows WHERE source_file = %s"
            " UNION ALL SELECT row_number, record FROM raw.protected_person_records WHERE source_file = %s",
            (rel, rel)).fetchall())  # fmt: skip
        for n, cells in expected.record.items():
            assert {k: records[n][k] for k in cells} == cells, n

"""Resident ID numbers recognised however they are written, by the warehouse functions that
withhold records at publication (``ops.has_resident_id``, ``ops.is_resident_id_not_uscc``) and by
the publication checkpoint's patterns over the same search form; credit codes left alone."""

from __future__ import annotations

import psycopg
import pytest

from credit_platform import uscc
from credit_platform.publish import config
from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.server_version]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(first17: str) -> str:
    """A resident ID number with its GB 11643 (ISO 7064 MOD 11-2) check character."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _both_valid(region: str) -> str:
    """A valid resident ID number whose 18 characters also pass the credit-code checksum."""
    for seq in range(1000):
        value = id_number(f"{region}19900101{seq:03d}")
        if uscc.is_valid(value):
            return value
    raise AssertionError(region)


def _id_not_uscc(region: str) -> str:
    """A valid resident ID number that fails the credit-code checksum."""
    for seq in range(1000):
        value = id_number(f"{region}19850615{seq:03d}")
        if not uscc.is_valid(value):
            return value
    raise AssertionError(region)


SHANXI = id_number("14068119900101123")  # 14068119900101123X
FULL = str.maketrans("0123456789X-", "０１２３４５６７８９Ｘ－")

IN_TEXT = [
    SHANXI,
    SHANXI.translate(FULL),  # full-width digits
    SHANXI.lower(),
    f"{SHANXI[:6]} {SHANXI[6:14]} {SHANXI[14:]}",  # spaces between the groups
    f"{SHANXI[:6]}-{SHANXI[6:14]}-{SHANXI[14:]}".lower(),  # hyphens, lower-case x
    f"{SHANXI[:6]}.{SHANXI[6:10]}.{SHANXI[10:14]}.{SHANXI[14:]}",  # dots
    " ".join(SHANXI[i : i + 4] for i in range(0, 18, 4)),  # in fours
    f"负责人：{SHANXI[:6]}－{SHANXI[6:14]}－{SHANXI[14:]}，电话".translate(FULL),
    f"{SHANXI[:6]}\u3000{SHANXI[6:14]}\u3000{SHANXI[14:]}",  # ideographic spaces
    f"{SHANXI[:6]}\u00a0{SHANXI[6:]}",  # no-break space
    f"{SHANXI[:6]} – {SHANXI[6:]}",  # en dash
    "身份证号140681199001011234。",
    "140681900101123",  # the old 15-digit form
    "140681 900101 123",
    "（法定代表人 110101-850615-123）",
]
NOT_IN_TEXT = [
    "91350100M000100Y43", "91140681MA0K1234XY", "91350100M0001TGQXM", "怀市监罚〔2025〕12号", "晋朔怀市监罚〔2025〕1号",
    "JY11406810012345", "1140681199001011234", "140681199013011234", "罚款 2 万元，自 2025-01-01 至 2026-01-01",
    "电话 0349-12345678", "A", "2025-H2", "", "营业执照编号 911406810000123456X1",
]  # fmt: skip

CODES_WITHHELD = [
    SHANXI,  # 14: no registration authority 1 has category 4
    _both_valid("140681"),  # passes the credit-code checksum all the same
    _both_valid("110101"),  # 11 is a real authority and category, but 01 is no province
    _id_not_uscc("131122"),  # 13 + 11 could start a credit code; a valid ID that fails the credit-code check
    SHANXI.lower(),
    SHANXI.translate(FULL),
    f" {SHANXI[:6]}-{SHANXI[6:]} ",
    "140681900101123",
]
CODES_KEPT = [
    "91350100M000100Y43", "91350100M0001TGQXM", "91140681MA0K1234XX",
    uscc.make("91", "140681", "MA0K1234"), uscc.make("92", "140681", "L1234567"), uscc.make("93", "140681", "MA0K0001"),
    uscc.make("12", "140681", "01234567"), uscc.make("51", "140681", "50000001"), uscc.make("N2", "140681", "N0000001"),
    uscc.make("91", "140620", "01010112"),  # an all-digit credit code shaped like an ID number
    _both_valid("131122"),  # a valid ID number that is also a plausible credit code: a credit code
    "140681199013011234", "1406811990010112", "",
]  # fmt: skip


def _publication_suite():
    from expectations import publication

    return publication


@pytest.fixture(scope="module")
def db(warehouse):
    with psycopg.connect(libpq_url(warehouse), autocommit=True) as conn:
        yield conn


def test_an_id_number_in_any_text_is_recognised_however_written(db):
    suite = _publication_suite()
    for value in IN_TEXT:
        found, by_checkpoint = db.execute(
            "SELECT ops.has_resident_id(%(v)s), ops.resident_id_search_form(%(v)s) ~ %(p)s",
            {"v": value, "p": suite.RESIDENT_ID}).fetchone()  # fmt: skip
        assert found and by_checkpoint, value
    for value in NOT_IN_TEXT:
        found, by_checkpoint = db.execute(
            "SELECT ops.has_resident_id(%(v)s), ops.resident_id_search_form(%(v)s) ~ %(p)s",
            {"v": value, "p": suite.RESIDENT_ID}).fetchone()  # fmt: skip
        assert not found and not by_checkpoint, value


def test_an_id_number_in_the_credit_code_column_and_credit_codes_that_stay(db):
    cfg = config.load()
    suite = _publication_suite()
    pattern = suite.resident_id_in_code(cfg.uscc_prefixes, cfg.uscc_provinces)
    query = ("SELECT ops.is_resident_id_not_uscc(%(v)s, %(a)s, %(b)s),"
             " regexp_replace(ops.resident_id_search_form(%(v)s), '[^0-9A-Z]', '', 'g') ~ %(p)s")  # fmt: skip
    params = {"a": list(cfg.uscc_prefixes), "b": list(cfg.uscc_provinces), "p": pattern}
    for value in CODES_WITHHELD:
        assert db.execute(query, {**params, "v": value}).fetchone()[0], value
    for value in CODES_KEPT:
        withheld, by_checkpoint = db.execute(query, {**params, "v": value}).fetchone()
        assert not withheld and not by_checkpoint, value
    # the checkpoint's pattern is a final guard: whatever it flags, the function withholds
    for value in CODES_WITHHELD[:3] + CODES_WITHHELD[4:]:
        assert db.execute(query, {**params, "v": value}).fetchone()[1], value


def test_the_credit_code_prefixes_are_configuration():
    cfg = config.load()
    expected = {"11", "12", "13", "19", "51", "59", "91", "92", "93", "N1", "N2", "N3", "N9", "Y1"}
    assert expected <= set(cfg.uscc_prefixes)
    assert not {"14", "94", "Y2", "N4"} & set(cfg.uscc_prefixes)
    assert "14" in cfg.uscc_provinces and "01" not in cfg.uscc_provinces

"""A published record's content digest, computed in SQL where the records are, is the digest of
the record as the platforms read it: the SHA-256 of the JSON array of its level and its values as
``formats.text`` writes them. Every platform's acknowledged state holds such digests, so a digest
that changed its bytes would send every record again, and one that missed a change would send
nothing. Marked ``server_version``: JSON and number text are the server's own."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid

import psycopg
import pytest
from psycopg import sql

from credit_platform.publish import formats, run
from credit_platform.warehouse.urls import libpq_url

pytestmark = [pytest.mark.integration, pytest.mark.server_version]

D = decimal.Decimal
ROWS = [
    ("k1", "public", "普通文本", dt.date(2025, 12, 31), D("5.00"), True, 7),
    ("k2", "authorised", 'quote " backslash \\ slash / tab \t new\nline \r cr', dt.date(999, 1, 2), D("1.50"),
     False, -3),
    ("k3", "internal", "\x01\x1f\x7f control, \u2028 separator, 😀 emoji, ｆｕｌｌ", None, D("-0.000001"), None, None),
    ("k4", "public", "", dt.date(2000, 2, 29), D("500"), True, 0),
    ("k5", "public", None, dt.date(2025, 1, 1), D("12345678901234567890.123456789"), False, 2**40),
    ("k6", "public", "'=HYPERLINK(\"x\")", dt.date(2025, 1, 1), D("0.00"), None, 1),
    ("k7", "public", "NaN", dt.date(2025, 1, 1), D("NaN"), None, 1),
]
COLS = ("name", "day", "amount", "flag", "count")


def _reference(level: str, values: list) -> str:
    """The digest as Python writes it: what the platforms' state was first computed with."""
    text = json.dumps([level, *map(formats.text, values)], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_sql_digest_equals_the_digest_of_the_record_as_the_platforms_read_it(warehouse):
    table = f"digest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(warehouse)) as conn:
        name = sql.Identifier("publish", table)
        conn.execute(sql.SQL("CREATE TABLE {} (item_key text PRIMARY KEY, disclosure_level text, name text, day date,"
                             " amount numeric, flag boolean, count bigint)").format(name))  # fmt: skip
        try:
            with conn.cursor() as cur:
                cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s)").format(name), ROWS)
            digest = run.content_digest(conn, table, COLS)
            got = dict(conn.execute(sql.SQL("SELECT d.item_key, {} FROM {} AS d").format(digest, name)).fetchall())
            # the values as the send reads them back from the server, as the reference saw them
            back = {k: (lv, vals) for k, lv, *vals in conn.execute(sql.SQL("SELECT * FROM {}").format(name))}
        finally:
            conn.rollback()
    assert got == {k: _reference(lv, vals) for k, (lv, vals) in back.items()}
    assert len(set(got.values())) == len(ROWS)
    # the test can fail: one changed value, one changed level, give other digests
    assert _reference("public", ["普通文本 ", dt.date(2025, 12, 31), D("5"), True, 7]) != got["k1"]
    assert _reference("authorised", ["普通文本", dt.date(2025, 12, 31), D("5"), True, 7]) != got["k1"]


def test_a_column_publication_cannot_digest_is_refused_with_its_name(warehouse):
    table = f"digest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(warehouse)) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (item_key text, disclosure_level text, ratio double precision)")
                     .format(sql.Identifier("publish", table)))  # fmt: skip
        try:
            with pytest.raises(ValueError, match="ratio is of type double precision"):
                run.content_digest(conn, table, ("ratio",))
        finally:
            conn.rollback()

"""Pulling province results from the credit portal's HTTP API: a local HTTP server stands in for the portal."""

from __future__ import annotations

import psycopg
import pytest
from fake_portal import TOKEN, FakePortal, _record

from credit_platform.ingest import loader
from credit_platform.ingest.pull import Portal, PullError, pull_province
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration


@pytest.fixture
def fake_portal():
    p = FakePortal()
    yield p
    p.server.shutdown()


@pytest.fixture
def db(migrated_database):
    with migrated_database("pull") as url:
        yield url


def test_pulls_are_incremental_and_load_like_any_push(db, fake_portal, tmp_path):
    url = libpq_url(url_for("loader", db))
    fake_portal.records += [_record(i, g, f"2025-11-21T0{i}:00:00") for i, g in enumerate(["A", "B+", "C"])]
    first = pull_province(url, fake_portal.portal(), inbox=tmp_path)
    assert first["records"] == 3 and first["watermark"] == "2025-11-21T02:00:00"
    assert len([r for r in fake_portal.requests if "page=" in r]) == 2  # two pages of two
    assert loader.discover(tmp_path) == [first["file"]]
    loaded = loader.load_file(url, first["file"], inbox=tmp_path, archive_dir=tmp_path / "a")
    assert (loaded.rows_in, loaded.rows_loaded, loaded.rows_rejected) == (3, 3, 0)

    assert pull_province(url, fake_portal.portal(), inbox=tmp_path)["file"] is None  # nothing new
    assert "updated_after=2025-11-21T02%3A00%3A00" in fake_portal.requests[-1]

    fake_portal.records += [_record(3, "B", "2025-11-22T00:00:00"), _record(4, "良", "2025-11-22T00:00:01")]
    second = pull_province(url, fake_portal.portal(), inbox=tmp_path)
    assert second["records"] == 2 and second["updated_after"] == "2025-11-21T02:00:00"
    result = loader.load_file(url, second["file"], inbox=tmp_path, archive_dir=tmp_path / "a")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    with psycopg.connect(libpq_url(db)) as conn:
        assert conn.execute("SELECT count(*) FROM raw.province_evaluations").fetchone()[0] == 4
        assert conn.execute("SELECT reason_code FROM ops.rejected_rows").fetchall() == [("grade_class_word",)]
        assert conn.execute("SELECT watermark, records FROM ops.pull_watermarks").fetchone() == (
            "2025-11-22T00:00:01", 2)


def test_a_refused_token_or_an_error_answer_fails_clearly_and_keeps_the_watermark(db, fake_portal, tmp_path):
    url = libpq_url(url_for("loader", db))
    fake_portal.records.append(_record(0, "A", "2025-11-21T00:00:00"))
    with pytest.raises(PullError, match="HTTP 401.*refused the token"):
        pull_province(url, fake_portal.portal("wrong"), inbox=tmp_path)
    fake_portal.fail_with = {"code": 500, "message": "数据库维护中"}
    with pytest.raises(PullError, match="数据库维护中"):
        pull_province(url, fake_portal.portal(), inbox=tmp_path)
    with pytest.raises(PullError, match="cannot reach the portal"):
        pull_province(url, Portal("http://127.0.0.1:9/api/v1", TOKEN, timeout=2), inbox=tmp_path)
    assert not list(tmp_path.rglob("*.json"))
    with psycopg.connect(libpq_url(db)) as conn:
        assert conn.execute("SELECT count(*) FROM ops.pull_watermarks").fetchone()[0] == 0

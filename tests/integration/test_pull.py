"""Pulling province results from the credit portal's HTTP API: a local HTTP server stands in for the portal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from credit_platform import uscc
from credit_platform.ingest import loader
from credit_platform.ingest.pull import Portal, PullError, pull_province
from credit_platform.warehouse.roles import libpq_url, url_for

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"
CODES = [uscc.make("91", "140681", f"MA0P{i:04d}") for i in range(6)]


def _record(i: int, grade: str, updated: str) -> dict:
    return {"subjectName": f"怀仁市测试{i}有限公司", "creditCode": CODES[i], "evalGrade": grade, "evalScore": 80,
            "evalDate": "2025-11-20", "batchNo": "API-1", "updatedAt": updated}  # fmt: skip


class FakePortal:
    """The portal's evaluations endpoint: pages, updated_after, a bearer token; records can be added."""

    def __init__(self):
        self.records: list[dict] = []
        self.requests: list[str] = []
        self.fail_with: dict | None = None
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - the http.server name
                url = urllib.parse.urlparse(self.path)
                portal.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_error(401, "Unauthorized")
                    return
                if url.path != "/api/v1/evaluations":
                    self.send_error(404)
                    return
                q = dict(urllib.parse.parse_qsl(url.query))
                after, size, page = q.get("updated_after", ""), int(q["page_size"]), int(q["page"])
                rows = sorted((r for r in portal.records if r["updatedAt"] > after), key=lambda r: r["updatedAt"])
                pages = max(1, -(-len(rows) // size))
                doc = portal.fail_with or {"code": 0, "message": "ok", "data": {
                    "records": rows[(page - 1) * size: page * size], "page": page, "pages": pages}}  # fmt: skip
                body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def portal(self, token: str = TOKEN) -> Portal:
        return Portal(f"http://127.0.0.1:{self.port}/api/v1", token, page_size=2, timeout=5)


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


@pytest.mark.slow
def test_the_ingest_dag_pulls_through_the_airflow_connection(airflow_test_env, warehouse, fake_portal, tmp_path):
    """`airflow dags test ingest_province` with the portal as connection `credit_portal` pulls and loads."""
    fake_portal.records += [_record(5, "A-", "2025-11-23T00:00:00")]
    conn_json = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": fake_portal.port, "password": TOKEN,
                            "extra": {"path": "/api/v1"}})  # fmt: skip
    env = {**airflow_test_env, "CREDIT_INBOX": str(tmp_path / "inbox"), "CREDIT_ARCHIVE": str(tmp_path / "archive"),
           "AIRFLOW_CONN_CREDIT_PORTAL": conn_json}  # fmt: skip
    res = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "test", "ingest_province"],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=300)  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "state=success" in out, out[-4000:]
    with psycopg.connect(libpq_url(warehouse)) as conn:
        row = conn.execute("SELECT b.status, b.rows_loaded FROM ops.load_batches b JOIN ops.pull_watermarks w"
                           " ON w.last_file = b.source_file").fetchone()  # fmt: skip
    assert row == ("loaded", 1)

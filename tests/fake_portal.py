"""A local HTTP server standing in for the credit portal's evaluations API (tests of the pull)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from credit_platform import uscc
from credit_platform.ingest.pull import Portal

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

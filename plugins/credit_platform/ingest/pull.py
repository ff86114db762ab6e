"""Pulling province evaluation results from the credit portal's HTTP API, incrementally.

The portal answers ``GET <base>/evaluations?updated_after=<ISO-8601>&page=<n>&page_size=<k>``
(``Authorization: Bearer <token>``) with JSON ``{"code": 0, "message": "...", "data": {"records":
[...], "page": n, "pages": N}}``; a record carries ``subjectName``, ``creditCode``, ``evalGrade``,
``evalScore``, ``evalDate``, ``batchNo`` and ``updatedAt``. A pull asks for every record updated
after the watermark in ``ops.pull_watermarks``, writes them as one JSON file into
``$CREDIT_INBOX/province/`` (written aside and renamed, so the loader never sees half a file), and
then moves the watermark to the latest ``updatedAt`` it received. The inbox is the queue: the
file is loaded like any pushed file (batch, archive, validation), and a pull repeated after a
failure writes the same records again, which the loader records as a duplicate.

The portal is an Airflow connection (``credit_portal``): host (with or without ``http://``), port,
the token as password, and optionally ``{"path": "/api/v1", "page_size": 500, "timeout": 30}`` in
extra. Only the standard library is used (``urllib``): one GET per page needs nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform.settings import paths

log = logging.getLogger(__name__)

SOURCE = "province_api"
CONN_ID = "credit_portal"


class PullError(RuntimeError):
    pass


@dataclass(frozen=True)
class Portal:
    base_url: str  # e.g. http://portal.example:8080/api/v1
    token: str | None = None
    page_size: int = 500
    timeout: float = 30.0

    def page_url(self, updated_after: str | None, page: int) -> str:
        query = {"page": page, "page_size": self.page_size}
        if updated_after:
            query["updated_after"] = updated_after
        return f"{self.base_url.rstrip('/')}/evaluations?{urllib.parse.urlencode(query)}"


def portal_from_connection(conn) -> Portal:
    """The portal of an Airflow connection (``airflow.sdk.Connection``)."""
    from credit_platform.connections import http_base

    base, token, extra = http_base(conn)
    return Portal(base, token, int(extra.get("page_size", 500)), float(extra.get("timeout", 30)))


def _get(portal: Portal, url: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if portal.token:
        request.add_header("Authorization", f"Bearer {portal.token}")
    try:
        with urllib.request.urlopen(request, timeout=portal.timeout) as resp:  # noqa: S310 - a configured URL
            body = resp.read()
    except urllib.error.HTTPError as exc:
        hint = " (the portal refused the token)" if exc.code in (401, 403) else ""
        raise PullError(f"{url}: HTTP {exc.code} {exc.reason}{hint}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PullError(f"{url}: cannot reach the portal ({exc})") from None
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PullError(f"{url}: the answer is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("code", 0) != 0:
        message = doc.get("message") if isinstance(doc, dict) else None
        raise PullError(f"{url}: the portal answered with an error ({message or doc!r:.200})")
    data = doc.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise PullError(f"{url}: no data.records list in the answer")
    return data


def fetch(portal: Portal, updated_after: str | None) -> list[dict]:
    """Every record updated after the watermark, all pages."""
    records: list[dict] = []
    page, pages = 1, 1
    while page <= pages:
        data = _get(portal, portal.page_url(updated_after, page))
        records.extend(data["records"])
        pages = int(data.get("pages") or 1)
        page += 1
    return records


def watermark(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT watermark FROM ops.pull_watermarks WHERE source = %s", (SOURCE,)).fetchone()
    return row[0] if row else None


def pull_province(url: str, portal: Portal, *, inbox: Path | None = None) -> dict:
    """Pull what is new into the inbox; returns what was pulled (``file`` is None when nothing was new)."""
    inbox = inbox or paths().inbox
    since = watermark(url)
    records = fetch(portal, since)
    if not records:
        log.info("the portal has no records updated after %s", since or "the beginning")
        return {"records": 0, "file": None, "updated_after": since, "watermark": since}
    stamps = [str(r["updatedAt"]) for r in records if r.get("updatedAt")]
    if len(stamps) != len(records):
        raise PullError(f"{portal.base_url}: {len(records) - len(stamps)} record(s) without updatedAt")
    latest = max(stamps)
    body = json.dumps({"source": portal.base_url, "updated_after": since, "records": records},
                      ensure_ascii=False, indent=1).encode("utf-8")  # fmt: skip
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    relative = f"province/province_evaluation_api_{now}_{hashlib.sha256(body).hexdigest()[:8]}.json"
    target = inbox / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")  # the loader only claims *.json
    part.write_bytes(body)
    os.replace(part, target)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO ops.pull_watermarks (source, watermark, last_file, records) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (source) DO UPDATE SET watermark = EXCLUDED.watermark, last_file = EXCLUDED.last_file,"
            " records = EXCLUDED.records, pulled_at = now()",
            (SOURCE, latest, relative, len(records)),
        )
    log.info("pulled %s record(s) updated after %s into %s; watermark now %s", len(records), since, relative, latest)
    return {"records": len(records), "file": relative, "updated_after": since, "watermark": latest}

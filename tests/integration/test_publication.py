"""Publication on a generated city graded for real: disclosure enforced by the warehouse's roles,
the publication checkpoint, and delivery to a real HTTP server on localhost that accepts, fails
with 500, times out, or accepts the same batch twice, asserting that every change takes effect
exactly once and that withdrawals reach the platform; the departments' workbooks read back with
openpyxl."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import decimal
import hashlib
import io
import json
import re
import threading
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses files this test's own code wrote
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import psycopg
import pytest
import yaml
from openpyxl import load_workbook
from psycopg import errors, sql
from sql import rows
from test_personal_data import _both_valid, id_number

from credit_platform.publish import PublicationBlocked, PublicationFailed, config, publish, run, workbooks
from credit_platform.publish.transport import Endpoint
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.warehouse import access
from credit_platform.warehouse.urls import libpq_url, url_for, with_user

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 1, 20)


class Platform:
    """A sharing platform's receiving end: applies each idempotency key once, whatever it answers.

    ``script`` is consumed one answer per request: ``ok``, ``500``, ``timeout`` (applies the
    batch, then answers too late) or ``drop`` (applies it and answers, but see the test)."""

    def __init__(self):
        self.script: list[str] = []
        self.requests: list[str] = []  # idempotency keys, in order
        self.applied: dict[str, int] = {}  # key -> times applied
        self.state: dict[str, dict] = {}  # item key -> fields
        self.events: list[tuple[str, str]] = []  # (action, item key), each applied change
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                with platform.lock:
                    platform.requests.append(key)
                    answer = platform.script.pop(0) if platform.script else "ok"
                    if answer != "500":
                        platform.apply(key, body, self.headers["X-Content-SHA256"])
                if answer == "500":
                    self.send_response(500)
                    self.end_headers()
                    return
                if answer == "timeout":
                    time.sleep(1.5)
                reply = json.dumps({"code": 0, "receipt": f"R-{key[-8:]}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                try:
                    self.wfile.write(reply)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/credit/receive"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def apply(self, key: str, body: bytes, sha256: str) -> None:
        assert hashlib.sha256(body).hexdigest() == sha256
        if key in self.applied:
            self.applied[key] += 0  # seen before: acknowledged again, not applied again
            return
        self.applied[key] = 1
        for record in json.loads(body)["records"]:
            self.events.append((record["action"], record["key"]))
            if record["action"] == "upsert":
                self.state[record["key"]] = record["fields"]
            else:
                self.state.pop(record["key"], None)


def make_config(max_items: int | None = None) -> config.Config:
    data = yaml.safe_load(resources.files("credit_platform.publish").joinpath("publication.yml").read_text("utf-8"))
    data["platforms"] = {
        "portal": {"name": "信用门户", "clearance": "public", "format": "json", "transport": "http",
                   "connection": "credit_portal_receiver", "max_items": max_items},
        "province": data["platforms"]["province"],
    }  # fmt: skip
    data["retry"] = {"attempts": 3, "backoff_seconds": 0.01, "timeout_seconds": 0.5}
    return config.parse(data)


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("publication") as c:
        c["publisher"] = libpq_url(url_for("publisher", c["url"]))
        assert run_checkpoint(c["publisher"], "marts").success
        yield c


@pytest.fixture(scope="module")
def server():
    s = Platform()
    yield s
    s.server.shutdown()


def _publish(city, server, tmp_path, **kw):
    kw.setdefault("config", make_config())
    kw.setdefault("as_of", AS_OF)
    return publish(city["publisher"], outbox=tmp_path / "outbox", spool=tmp_path / "spool",
                   endpoints={"portal": Endpoint(server.url)}, sleep=lambda s: None, **kw)  # fmt: skip


def _expected_public(city, as_of=AS_OF) -> set[str]:
    """The item keys the public platform should hold, straight from the marts."""
    cfg = make_config()
    keys = {f"{i}|{u}|{p}|{g}" for i, u, p, g in rows(city["admin"],
            "SELECT industry_code, uscc, evaluation_period, grade FROM marts.fct_industry_credit_grades")
            if cfg.grade_level(i) == "public"}  # fmt: skip
    keys |= {k for (k,) in rows(city["admin"],
             "SELECT record_key FROM marts.fct_shared_records WHERE publication_start_date <= %(d)s"
             " AND (publication_end_date IS NULL OR (publication_end_date > publication_start_date"
             " AND publication_end_date >= %(d)s)) AND (repaired_date IS NULL OR repaired_date > %(d)s)",
             {"d": as_of})}  # fmt: skip
    return keys


def test_a_platform_that_fails_then_recovers_gets_everything_exactly_once(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    server.script = ["500", "500", "500"]  # every attempt of the first batch in the first run
    with pytest.raises(PublicationFailed, match="not acknowledged after 3 attempts: HTTP 500"):
        _publish(city, server, spool)
    failed = rows(city["admin"], "SELECT idempotency_key, attempts, message FROM ops.publications"
                                 " WHERE platform = 'portal' AND status = 'failed'")  # fmt: skip
    assert len(failed) == 1 and failed[0][1] == 3 and server.requests == [failed[0][0]] * 3
    assert not server.applied
    # the province (file drop) went on meanwhile: a batch for each dataset that has rows
    datasets = [d for d in make_config().datasets
                if rows(city["admin"], sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("publish", d)))[0][0]]
    assert len(datasets) >= 5, datasets  # grades, penalties, licences, commendations, commitments
    assert rows(city["admin"], "SELECT count(*) FROM ops.publications WHERE platform = 'province'"
                               " AND status = 'acknowledged'")[0][0] == len(datasets)  # fmt: skip

    report = _publish(city, server, spool)  # the next run resends the same batch first
    assert report.batches[0].resent and report.batches[0].idempotency_key == failed[0][0]
    assert set(server.state) == _expected_public(city)
    assert all(n == 1 for n in server.applied.values())
    assert len(server.events) == len({k for _, k in server.events})  # each item applied once

    before = len(server.requests)
    again = _publish(city, server, spool)  # a rerun: nothing changed, nothing sent
    assert len(server.requests) == before and not again.batches


def test_a_retry_after_a_timeout_and_a_batch_accepted_twice_take_effect_once(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)  # whatever an earlier test left: up to date
    grade = rows(city["admin"], "SELECT industry_code, uscc, evaluation_period, grade FROM"
                                " marts.fct_industry_credit_grades WHERE industry_code = 'commerce'"
                                " ORDER BY uscc LIMIT 2")  # fmt: skip
    try:
        # a corrected grade (the old one withdrawn, the new one sent); the platform applies the batch
        # but answers after the client gave up
        rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = 'D', grade_class = 'D'"
                            " WHERE industry_code = %s AND uscc = %s AND evaluation_period = %s",
             grade[0][:3])  # fmt: skip
        server.script = ["timeout"]
        sent_before, events_before = len(server.requests), len(server.events)
        report = _publish(city, server, spool)
        keys = server.requests[sent_before:]
        assert len(keys) == 2 and keys[0] == keys[1]  # the retry carried the same key
        assert server.applied[keys[0]] == 1
        item, old = (f"{grade[0][0]}|{grade[0][1]}|{grade[0][2]}|{g}" for g in ("D", grade[0][3]))
        assert server.events[events_before:] == [("upsert", item), ("withdraw", old)]
        assert server.state[item]["grade"] == "D" and old not in server.state
        assert [(b.upserts, b.withdrawals, b.attempts) for b in report.batches if b.platform == "portal"] == [(1, 1, 2)]

        # the platform acknowledges, but the run dies before recording it: the next run resends
        # the batch, the platform accepts it a second time and applies it once
        rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = 'C', grade_class = 'C'"
                            " WHERE industry_code = %s AND uscc = %s AND evaluation_period = %s",
             grade[1][:3])  # fmt: skip
        real = run.transport.post

        def dies_after_acknowledgement(*a, **kw):
            real(*a, **kw)
            raise run.transport.DeliveryFailed("the run died after the platform answered", 1)

        run.transport.post = dies_after_acknowledgement
        try:
            with pytest.raises(PublicationFailed, match="died after the platform answered"):
                _publish(city, server, spool)
        finally:
            run.transport.post = real
        _publish(city, server, spool)
        key = server.requests[-1]
        assert server.requests[-2:] == [key, key] and server.applied[key] == 1
        item = f"{grade[1][0]}|{grade[1][1]}|{grade[1][2]}|C"
        assert [e for e in server.events if e[1] == item][-1] == ("upsert", item)
        assert sum(1 for e in server.events[events_before:] if e[1] == item) == 1
        assert rows(city["admin"], "SELECT status, attempts FROM ops.publications WHERE idempotency_key = %s",
                    (key,)) == [("acknowledged", 2)]  # fmt: skip
    finally:
        for industry, uscc, period, g in grade:
            rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = %s, grade_class = left(%s, 1)"
                                " WHERE industry_code = %s AND uscc = %s AND evaluation_period = %s",
                 (g, g, industry, uscc, period))  # fmt: skip
    _publish(city, server, spool)
    assert set(server.state) == _expected_public(city)


def test_withdrawals_for_ended_publication_and_repair_and_a_run_resumed_midway(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    held = set(server.state)
    penalty = rows(city["admin"], "SELECT record_key FROM marts.fct_shared_records WHERE record_type = 'penalty'"
                                  " AND record_key = ANY(%s) ORDER BY record_key LIMIT 1",
                   (sorted(held),))[0][0]  # fmt: skip
    rows(city["admin"], "UPDATE marts.fct_shared_records SET repaired_date = %s WHERE record_key = %s",
         (AS_OF, penalty))  # fmt: skip
    later = dt.date(2027, 6, 30)  # many penalties' publication has ended by then
    expected = _expected_public(city, later)
    ended = held - expected
    assert penalty in ended and len(ended) > 20
    # a platform that accepts at most 10 records a file, and fails after accepting two of them
    server.script = ["ok", "ok", "500", "500", "500"]
    sent_before = len(server.requests)
    with pytest.raises(PublicationFailed):
        _publish(city, server, spool, as_of=later, config=make_config(max_items=10))
    first = server.requests[sent_before:]
    assert len(set(first)) == 3 and len(first) == 5
    report = _publish(city, server, spool, as_of=later, config=make_config(max_items=10))
    again = server.requests[sent_before + len(first):]
    assert again[0] == first[-1] and not set(again[1:]) & set(first)  # resumed, nothing acknowledged resent
    assert set(server.state) == expected
    assert {k for a, k in server.events if a == "withdraw"} >= ended
    withdrawn = sum(b.withdrawals for b in report.batches if b.platform == "portal") + 20
    assert withdrawn == len(ended)
    # the public view follows: the repaired record is gone from it too
    _, _, number, uscc = penalty.split("|")
    with psycopg.connect(libpq_url(url_for("public_reader", city["url"]))) as conn:
        assert not conn.execute("SELECT 1 FROM publish.public_penalties WHERE decision_number = %s AND uscc = %s",
                                (number, uscc)).fetchall()  # fmt: skip
        assert conn.execute("SELECT count(*) FROM publish.public_penalties").fetchone()[0] == sum(
            1 for k in expected if k.startswith("penalty|"))


@pytest.mark.server_version
def test_disclosure_is_enforced_by_the_roles(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    cfg = make_config()
    by_level = {lv: n for lv, n in rows(city["admin"], "SELECT disclosure_level, count(*) FROM publish.grades"
                                                       " GROUP BY 1")}  # fmt: skip
    assert set(by_level) == {"public", "authorised", "internal"}
    authorised = [u for (u,) in rows(city["admin"], "SELECT uscc FROM publish.grades WHERE disclosure_level ="
                                                    " 'authorised' ORDER BY uscc LIMIT 3")]  # fmt: skip
    for name in ("bank_a", "bank_b"):
        access.add_recipient(city["url"], name)
    access.authorise(city["url"], "bank_a", authorised[:2], reference="授权-001")
    access.authorise(city["url"], "bank_b", authorised[2:], reference="授权-002")
    access.authorise(city["url"], "bank_b", authorised[:1], valid_to=dt.date(2020, 1, 1),
                     valid_from=dt.date(2019, 1, 1))  # expired  # fmt: skip
    try:
        reader = libpq_url(url_for("public_reader", city["url"]))
        with psycopg.connect(reader) as conn:
            cols = [d.name for d in conn.execute("SELECT * FROM publish.public_grades LIMIT 0").description]
            assert cols == list(cfg.datasets["grades"].levels["public"]) and "score" not in cols
            assert conn.execute("SELECT count(*) FROM publish.public_grades").fetchone()[0] == by_level["public"]
            conn.rollback()
            for statement in ["SELECT * FROM publish.grades", "SELECT * FROM publish.authorised_grades",
                              "SELECT * FROM marts.fct_industry_credit_grades", "SELECT * FROM ops.publications",
                              "SELECT * FROM ops.recipient_authorisations"]:  # fmt: skip
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(statement)
                conn.rollback()
        for name, own in (("bank_a", set(authorised[:2])), ("bank_b", set(authorised[2:]))):
            with psycopg.connect(libpq_url(with_user(city["url"], f"credit_recipient_{name}"))) as conn:
                seen = {u for (u,) in conn.execute("SELECT uscc FROM publish.authorised_grades")}
                assert seen == own  # its own subjects, none of the other bank's, no expired authorisation
                assert conn.execute("SELECT count(*) FROM publish.public_grades").fetchone()[0] == by_level["public"]
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute("SELECT * FROM publish.grades")
        # personal data never reaches publish: no ID column, and the checkpoint found no ID number
        id_columns = rows(city["admin"], "SELECT table_name, column_name FROM information_schema.columns"
                                         " WHERE table_schema = 'publish'"
                                         " AND column_name ~ '(id_number|zjhm|_id_)'")  # fmt: skip
        assert id_columns == []
    finally:
        for name in ("bank_a", "bank_b"):
            access.remove_recipient(city["url"], name)
        assert rows(city["admin"], "SELECT count(*) FROM ops.recipient_authorisations") == [(0,)]


@pytest.mark.server_version
def test_grades_reach_the_public_view_end_to_end(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    marts = {(u, i, p): g for u, i, p, g in rows(city["admin"], "SELECT g.uscc, d.industry_name,"
             " g.evaluation_period, g.grade FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries d"
             " USING (industry_code) WHERE g.industry_code NOT IN ('fiscal_funds', 'statistics')")}  # fmt: skip
    with psycopg.connect(libpq_url(url_for("public_reader", city["url"]))) as conn:
        public = {(u, i, p): g for u, i, p, g in conn.execute(
            "SELECT uscc, industry_name, evaluation_period, grade FROM publish.public_grades")}  # fmt: skip
    assert public == marts
    # the province's XML files (written by this module's runs) and their manifests
    xml_files = sorted(spool.parent.glob("pub*/outbox/province/grades_*.xml"))
    assert xml_files
    for path in xml_files:
        manifest = json.loads((path.parent / f"{path.name}.manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        root = ET.fromstring(path.read_bytes())  # noqa: S314 - our own file
        header = root.find("Header")
        assert header.findtext("SerialNumber") == manifest["idempotency_key"]
        assert header.findtext("Sender") == "怀仁市发展和改革局"
        assert int(header.findtext("RecordCount")) == manifest["rows"]["total"] == len(root.find("Body"))


def test_sends_to_different_platforms_run_at_once_and_none_while_a_rebuild_runs(city, server, tmp_path_factory):
    """The DAG maps one send task per platform: another run sending to one platform (its lock held by
    another session) stops a send to that platform only; a send in progress (the publication lock
    shared) stops a rebuild, and a rebuild (the lock held alone) stops every send."""
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)  # up to date
    kw = {"config": make_config(), "outbox": spool / "outbox", "spool": spool / "spool",
          "endpoints": {"portal": Endpoint(server.url)}, "sleep": lambda s: None}  # fmt: skip
    with psycopg.connect(city["publisher"], autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock_shared(%s), pg_advisory_lock(%s, hashtext('province'))",
                      (run.LOCK, run.PLATFORM_LOCK))  # fmt: skip
        with pytest.raises(PublicationBlocked, match="another run is sending to province"):
            run.send(city["publisher"], platforms=["province"], **kw)
        with pytest.raises(PublicationBlocked, match="another run is sending to province"):
            run.send(city["publisher"], **kw)  # every platform: province among them
        assert run.send(city["publisher"], platforms=["portal"], **kw).failures == []
        with pytest.raises(PublicationBlocked, match="in progress"):
            run.prepare(city["publisher"], config=make_config(), as_of=AS_OF)
        other.execute("SELECT pg_advisory_unlock_all()")
        other.execute("SELECT pg_advisory_lock(%s)", (run.LOCK,))  # a rebuild in progress
        for platforms in (["portal"], None):
            with pytest.raises(PublicationBlocked, match="in progress"):
                run.send(city["publisher"], platforms=platforms, **kw)
    # the locks went with the sessions that held them, a refused run's included
    assert run.send(city["publisher"], **kw).failures == []
    with pytest.raises(PublicationBlocked, match="no platform nowhere in publication.yml"):
        run.send(city["publisher"], platforms=["nowhere"], **kw)


def test_each_platform_gets_one_file_per_dataset_that_its_manifest_describes(city, tmp_path):
    # the shipped platforms (city CSV, prefecture JSON, province XML, all files), under names of their
    # own: a first publication to each
    data = yaml.safe_load(resources.files("credit_platform.publish").joinpath("publication.yml").read_text("utf-8"))
    data["platforms"] = {f"first_{name}": p for name, p in data["platforms"].items()}
    cfg = config.parse(data)
    report = publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "outbox",
                     spool=tmp_path / "spool")  # fmt: skip
    # one batch per platform and dataset, holding every item the platform is to hold
    sent = Counter((b.platform, b.dataset) for b in report.batches)
    assert sent and set(sent.values()) == {1}, sent
    held = dict(rows(city["admin"], "SELECT platform || '.' || dataset, count(*) FROM ops.publication_state"
                                    " WHERE platform LIKE 'first%%' GROUP BY 1"))  # fmt: skip
    assert {f"{b.platform}.{b.dataset}": b.upserts for b in report.batches} == held
    assert {p for p, _ in sent} == {"first_city", "first_prefecture", "first_province"}
    for platform in ("first_city", "first_prefecture", "first_province"):
        files = [f for f in (tmp_path / "outbox" / platform).glob(f"*.{cfg.platforms[platform].format}")
                 if not f.name.endswith(".manifest.json")]  # fmt: skip
        assert sorted(f.name.split("_2")[0] for f in files) == sorted(d for p, d in sent if p == platform)

    path, = (tmp_path / "outbox" / "first_city").glob("grades_*.csv")
    with open(path, encoding="gb18030", newline="") as fh:
        header, *records = list(csv.reader(fh))
    assert header[:5] == ["操作", "记录键", "公开级别", "统一社会信用代码", "主体名称"] and "评价得分" not in header
    manifest = json.loads((path.parent / f"{path.name}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoding"] == "GB18030"
    assert [c["name"] for c in manifest["columns"]] == header  # the manifest lists the file's header, in order
    assert [c["code"] for c in manifest["columns"]] == ["action", "record_key", "disclosure_level",
                                                        *cfg.datasets["grades"].levels["public"]]  # fmt: skip
    assert len(records) == manifest["rows"]["total"] == held["first_city.grades"]
    assert {r[0] for r in records} == {"新增或更新"} and {r[2] for r in records} == {"完全公开"}
    back = {v["value"]: v["code"] for v in manifest["codes"]["disclosure_level"]}
    assert {back[r[2]] for r in records} == {"public"}
    # the province's XML: its codes in Chinese too, its manifest naming each record's attributes and fields
    path, = (tmp_path / "outbox" / "first_province").glob("grades_*.xml")
    manifest = json.loads((path.parent / f"{path.name}.manifest.json").read_text(encoding="utf-8"))
    body = ET.fromstring(path.read_bytes()).find("Body")  # noqa: S314 - our own file
    assert [c["code"] for c in manifest["columns"]] == [*body[0].keys(), *(e.tag for e in body[0])]
    names = dict(cfg.level_names)
    assert {r.get("level") for r in body} == {names[lv] for lv in ("public", "authorised", "internal")}
    assert {r.get("action") for r in body} == {"新增或更新"}
    # the prefecture's JSON keeps English codes
    path, = (tmp_path / "outbox" / "first_prefecture").glob("grades_*[0-9].json")
    manifest = json.loads((path.parent / f"{path.name}.manifest.json").read_text(encoding="utf-8"))
    first = json.loads(path.read_bytes())["records"][0]
    assert [c["code"] for c in manifest["columns"]] == [*list(first)[:3], *first["fields"]]
    assert (first["action"], first["disclosure_level"]) == ("upsert", "public")


def test_main_reasons_name_in_chinese_what_moved_each_grade_largest_first(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    cfg = make_config()
    labels = set(cfg.main_reasons.labels.values())
    published = rows(city["admin"], "SELECT uscc, industry_code, evaluation_period, main_reasons, score"
                                    " FROM publish.grades")  # fmt: skip
    # every indicator that lost points, from the explanations: (name, points lost)
    lost: dict[tuple, list[tuple[str, decimal.Decimal]]] = {}
    for uscc, industry, period, name, points in rows(city["admin"], """
            SELECT e.uscc, e.industry_code, e.evaluation_period, d.indicator_name, e.weight - e.points
              FROM marts.fct_grade_explanations AS e
              JOIN marts.dim_indicators AS d USING (rule_version, industry_code, indicator_code)
             WHERE e.line_kind = 'indicator' AND e.points < e.weight
             ORDER BY e.weight - e.points DESC, e.line_number"""):  # fmt: skip
        lost.setdefault((uscc, industry, period), []).append((name, points))
    longest = 0
    for uscc, industry, period, reasons, score in published:
        assert not re.search(r"[A-Za-z]", reasons), reasons  # Chinese only: no English, no codes
        items = reasons.split("；") if reasons else []
        assert len(items) <= 5, reasons
        deciding = [r for r in items if r in labels or r.startswith(tuple(labels))]
        assert items[: len(deciding)] == deciding  # what decided the grade comes first
        named = [re.fullmatch(r"(.+) -(\d+(?:\.\d+)?)分", r) for r in items[len(deciding):]]
        assert all(named), reasons
        points = [decimal.Decimal(m[2]) for m in named]
        assert all(p > 0 for p in points) and points == sorted(points, reverse=True), reasons
        expected = lost.get((uscc, industry, period), [])
        assert [(m[1], p) for m, p in zip(named, points, strict=True)] == [
            (n, p.normalize()) for n, p in expected[: 5 - len(deciding)]], reasons  # fmt: skip
        if score == 100:
            assert not named  # full marks: no indicator to name
        longest = max(longest, len(items))
    if any(len(v) > 5 for v in lost.values()):
        assert longest == 5  # more than five indicators lost points: the five largest are named

    # a subject put on the serious-dishonesty list: its D is explained first, before the points lost;
    # a veto that leaves the grade its score gave is not named
    (u, i, p, grade, g_class, score), = rows(city["admin"], """
        SELECT uscc, industry_code, evaluation_period, grade, grade_class, score FROM marts.fct_industry_credit_grades
         WHERE NOT is_vetoed AND adjustment_id IS NULL AND has_sufficient_data AND score BETWEEN 50 AND 99
           AND industry_code = 'commerce' ORDER BY uscc LIMIT 1""")  # fmt: skip
    (low, ) = rows(city["admin"], """
        SELECT g.uscc, g.industry_code, g.evaluation_period FROM marts.fct_industry_credit_grades AS g
         WHERE g.grade = 'D' AND NOT g.is_vetoed AND g.adjustment_id IS NULL ORDER BY g.uscc LIMIT 1""") or [(None,)]
    planted = [(u, i, p), *([low] if low[0] else [])]
    try:
        for key in planted:
            rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = 'D', grade_class = 'D',"
                                " is_vetoed = true, veto_rule_code = 'SERIOUS_DISHONESTY' WHERE uscc = %s"
                                " AND industry_code = %s AND evaluation_period = %s", key)  # fmt: skip
            rows(city["admin"], "INSERT INTO marts.fct_grade_explanations (uscc, industry_code, evaluation_period,"
                                " line_number, line_kind, rule_code, points, detail, source_record_ids, rule_version)"
                                " SELECT uscc, industry_code, evaluation_period, max(line_number) + 1, 'veto',"
                                " 'SERIOUS_DISHONESTY', 0, '评价期内列入严重失信主体名单', '{}', min(rule_version)"
                                " FROM marts.fct_grade_explanations WHERE uscc = %s AND industry_code = %s"
                                " AND evaluation_period = %s GROUP BY 1, 2, 3", key)  # fmt: skip
        _publish(city, server, spool)
        (reasons,), = rows(city["admin"], "SELECT main_reasons FROM publish.grades WHERE uscc = %s"
                                          " AND industry_code = %s AND evaluation_period = %s", (u, i, p))  # fmt: skip
        first, *rest = reasons.split("；")
        assert first == cfg.main_reasons.labels["serious_dishonesty"] and len(rest) <= 4
        assert rest == [f"{n} -{x.normalize():f}分" for n, x in lost.get((u, i, p), [])[:4]]
        if low[0]:  # already D by its score: the veto changed nothing
            (reasons,), = rows(city["admin"], "SELECT main_reasons FROM publish.grades WHERE uscc = %s"
                                              " AND industry_code = %s AND evaluation_period = %s", low)  # fmt: skip
            assert not reasons.startswith(cfg.main_reasons.labels["serious_dishonesty"])
    finally:
        for key in planted:
            rows(city["admin"], "DELETE FROM marts.fct_grade_explanations WHERE uscc = %s AND industry_code = %s"
                                " AND evaluation_period = %s AND rule_code = 'SERIOUS_DISHONESTY'", key)  # fmt: skip
        rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET grade = %s, grade_class = %s,"
                            " is_vetoed = false, veto_rule_code = NULL WHERE uscc = %s AND industry_code = %s"
                            " AND evaluation_period = %s", (grade, g_class, u, i, p))  # fmt: skip
        if low[0]:
            rows(city["admin"], "UPDATE marts.fct_industry_credit_grades SET is_vetoed = false, veto_rule_code = NULL"
                                " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s", low)  # fmt: skip
    _publish(city, server, spool)


def _published_penalties(city, n: int) -> list[tuple]:
    return rows(city["admin"], "SELECT record_key, uscc, subject_name, decision_number, title, detail,"
                               " fine_amount_10k_yuan, authority_name FROM marts.fct_shared_records"
                               " WHERE record_type = 'penalty'"
                               " AND record_key IN (SELECT item_key FROM publish.penalties)"
                               " ORDER BY record_key LIMIT %s", (n,))  # fmt: skip


def test_records_with_an_id_number_are_withheld_and_everything_else_is_published(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    held_before = set(server.state)
    subject = rows(city["admin"], "SELECT g.uscc, s.subject_name FROM marts.fct_industry_credit_grades AS g"
                                  " JOIN marts.dim_subjects AS s USING (uscc) WHERE g.industry_code = 'commerce'"
                                  " ORDER BY g.uscc LIMIT 1")[0]  # fmt: skip
    (p1, _, _, _, _, p1_detail, *_), (p2, p2_uscc, *_) = _published_penalties(city, 2)
    person = id_number("14068119900101123")
    full_width = "１４０６８１－１９９００１０１－１２３ｘ"  # the same number in full-width characters
    try:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = subject_name || %s WHERE uscc = %s",
             (f"（负责人 {full_width}）", subject[0]))  # fmt: skip
        rows(city["admin"], "UPDATE marts.fct_shared_records SET detail = %s WHERE record_key = %s",
             (f"经营者 {person[:6]} {person[6:14]} {person[14:].lower()} 未按规定", p1))  # fmt: skip
        # a person's ID number in the credit-code column, which the credit-code checksum accepts
        in_code = _both_valid("140681")
        rows(city["admin"], "UPDATE marts.fct_shared_records SET uscc = %s WHERE record_key = %s", (in_code, p2))
        grade_keys = {k for (k,) in rows(city["admin"], "SELECT industry_code || '|' || uscc || '|' ||"
                                                        " evaluation_period || '|' || grade"
                                                        " FROM marts.fct_industry_credit_grades"
                                                        " WHERE uscc = %s",
                                         (subject[0],))}  # fmt: skip
        report = _publish(city, server, spool)  # not blocked: the rest goes out
        expected = {("grades", k, "subject_name") for k in grade_keys}
        expected |= {("penalties", p1, "detail"), ("penalties", p2, "uscc")}
        assert set(report.withheld) == expected
        assert set(rows(city["admin"], "SELECT dataset, item_key, column_name FROM ops.publication_withheld"
                                       " WHERE run_key = %s", (report.run_key,))) == expected  # fmt: skip
        assert "WITHHELD penalties" in report.summary()
        withheld = {k for _, k, _ in expected}
        # left out of every table, view and platform; whatever they held of them is withdrawn
        for table in ("grades", "penalties"):
            assert not rows(city["admin"], sql.SQL("SELECT item_key FROM {} WHERE item_key = ANY(%s)")
                            .format(sql.Identifier("publish", table)), (sorted(withheld),))  # fmt: skip
        assert set(server.state) == _expected_public(city) - withheld
        assert withheld & held_before <= {k for a, k in server.events if a == "withdraw"}
        assert not rows(city["admin"], "SELECT item_key FROM ops.publication_state WHERE item_key = ANY(%s)"
                                       " AND platform IN ('portal', 'province')", (sorted(withheld),))  # fmt: skip
        with psycopg.connect(libpq_url(url_for("public_reader", city["url"]))) as conn:
            assert not conn.execute("SELECT 1 FROM publish.public_penalties WHERE uscc = %s OR detail ~ %s",
                                    (in_code, person[:6])).fetchall()  # fmt: skip
            assert not conn.execute("SELECT 1 FROM publish.public_grades WHERE uscc = %s", (subject[0],)).fetchall()
    finally:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = %s WHERE uscc = %s", subject[::-1])
        rows(city["admin"], "UPDATE marts.fct_shared_records SET uscc = %s WHERE record_key = %s", (p2_uscc, p2))
        rows(city["admin"], "UPDATE marts.fct_shared_records SET detail = %s WHERE record_key = %s",
             (p1_detail, p1))  # fmt: skip
    report = _publish(city, server, spool)
    assert not report.withheld and set(server.state) == _expected_public(city)


def _searched(city) -> dict[str, tuple[int, int]]:
    """Per published table: (rows, rows searched for resident ID numbers) at the last rebuild."""
    return {t: (n, s) for t, n, s in rows(city["admin"], "SELECT table_name, rows_in, rows_searched"
                                                        " FROM ops.publication_searches")}  # fmt: skip


def _validated(city) -> dict[str, tuple[int, int]]:
    """Per published table: (rows, rows the publication checkpoint read) at the last rebuild."""
    return {t: (rows(city["admin"], sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("publish", t)))[0][0], v)
            for t, v in rows(city["admin"], "SELECT table_name, rows_validated FROM ops.publication_searches")}


def _tables_digest(city) -> dict[str, str]:
    return {t: rows(city["admin"], sql.SQL("SELECT md5(string_agg(d::text, ',' ORDER BY d.item_key)) FROM {} AS d")
                    .format(sql.Identifier("publish", t)))[0][0] for t in make_config().datasets}  # fmt: skip


def test_a_rebuild_searches_and_validates_only_what_changed(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    _publish(city, server, spool)  # nothing changed: nothing searched or validated again
    searched, validated = _searched(city), _validated(city)
    assert set(searched) == set(validated) == set(make_config().datasets)
    assert searched["grades"][0] > 0 and all(s == 0 for _, s in searched.values()), searched
    assert validated["grades"][0] > 0 and all(v == 0 for _, v in validated.values()), validated
    uscc, name = rows(city["admin"], "SELECT uscc, subject_name FROM marts.dim_subjects"
                                     " WHERE uscc IN (SELECT uscc FROM publish.grades) ORDER BY uscc LIMIT 1")[0]
    graded = rows(city["admin"], "SELECT count(*) FROM publish.grades WHERE uscc = %s", (uscc,))[0][0]
    try:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = subject_name || '（分店）' WHERE uscc = %s",
             (uscc,))  # fmt: skip
        _publish(city, server, spool)  # the subject's grades changed, and only they are searched and validated
        assert _searched(city)["grades"][1] == graded > 0
        assert _validated(city)["grades"][1] == graded
        incremental = _tables_digest(city)
        assert rows(city["admin"], "SELECT count(*) FROM publish.grades WHERE subject_name = %s",
                    (name + "（分店）",))[0][0] == graded  # fmt: skip
        # A new search (here: one more credit-code province in publication.yml, which the checkpoint's
        # search uses too) searches and validates every row again, and a rebuild that searches and
        # validates everything gives the same tables.
        wider = dataclasses.replace(make_config(), uscc_provinces=(*make_config().uscc_provinces, "99"))
        _publish(city, server, spool, config=wider)
        assert all(s == n for n, s in _searched(city).values()), _searched(city)
        assert all(v == n for n, v in _validated(city).values()), _validated(city)
        rows(city["admin"], "DELETE FROM ops.publication_searches")
        _publish(city, server, spool)
        assert all(s == n for n, s in _searched(city).values())
        assert all(v == n for n, v in _validated(city).values())
        assert _tables_digest(city) == incremental
    finally:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = %s WHERE uscc = %s", (name, uscc))
    _publish(city, server, spool)
    assert not rows(city["admin"], "SELECT 1 FROM pg_tables WHERE schemaname = 'publish' AND tablename ~ '__next'")


def test_the_checkpoint_stops_an_id_number_the_withholding_missed(city, server, tmp_path_factory, monkeypatch):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    person = rows(city["admin"], "SELECT uscc, subject_name FROM marts.dim_subjects WHERE uscc IN"
                  " (SELECT uscc FROM publish.grades) ORDER BY uscc LIMIT 1")[0]  # a subject that is published
    published = rows(city["admin"], "SELECT count(*) FROM ops.publications")[0][0]
    sent = len(server.requests)
    monkeypatch.setattr(run.tables, "withhold", lambda *a, **kw: (0, 0), raising=False)  # as if it had missed it
    try:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = subject_name || %s WHERE uscc = %s",
             ("（负责人 １４０６８１ １９９００１０１ １２３ｘ）", person[0]))  # fmt: skip
        with pytest.raises(PublicationBlocked, match="no resident ID number in .*subject_name") as blocked:
            _publish(city, server, spool)
        assert "'column_name': 'subject_name', 'value': " in str(blocked.value)  # the column, and the value found
        assert "14068119900101123X" in str(blocked.value)
        assert len(server.requests) == sent
        assert rows(city["admin"], "SELECT count(*) FROM ops.publications")[0][0] == published
        assert not rows(city["admin"], "SELECT 1 FROM publish.grades WHERE subject_name ~ '１４０６８１'")
        assert not rows(city["admin"], "SELECT 1 FROM pg_tables WHERE schemaname = 'publish' AND tablename ~ '__next'")
        assert not rows(city["admin"], "SELECT 1 FROM pg_views WHERE schemaname = 'publish' AND viewname ~ '__next'")
    finally:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = %s WHERE uscc = %s", person[::-1])
    # a person's ID number in the credit-code column, which no credit code can start like
    (key, uscc, *_), = _published_penalties(city, 1)
    try:
        rows(city["admin"], "UPDATE marts.fct_shared_records SET uscc = %s WHERE record_key = %s",
             (id_number("14068119900101123"), key))  # fmt: skip
        with pytest.raises(PublicationBlocked, match="no resident ID number in .*uscc") as blocked:
            _publish(city, server, spool)
        assert f"'item_key': '{key}', 'column_name': 'uscc'" in str(blocked.value)
        assert len(server.requests) == sent
    finally:
        rows(city["admin"], "UPDATE marts.fct_shared_records SET uscc = %s WHERE record_key = %s", (uscc, key))


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.server_version
def test_an_authorised_recipient_cannot_probe_other_subjects(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    _publish(city, server, spool)
    authorised = rows(city["admin"], "SELECT uscc, count(*) FROM publish.grades WHERE disclosure_level = 'authorised'"
                                     " GROUP BY uscc ORDER BY uscc")  # fmt: skip
    assert len(authorised) > 5
    own = [u for u, _ in authorised[:2]]
    granted = sum(n for _, n in authorised[:2])
    other = authorised[-1][0]
    other_grade = rows(city["admin"], "SELECT grade FROM publish.grades WHERE uscc = %s AND disclosure_level ="
                                      " 'authorised' LIMIT 1", (other,))[0][0]  # fmt: skip
    access.add_recipient(city["url"], "probe_bank")
    access.authorise(city["url"], "probe_bank", own)
    # The worst case: a function of the recipient's own that is not leakproof and tells what it sees.
    rows(city["admin"], "CREATE SCHEMA IF NOT EXISTS probe")
    rows(city["admin"], "CREATE OR REPLACE FUNCTION probe.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0001"
                        " AS $$ BEGIN RAISE NOTICE 'peek:%%', $1; RETURN true; END $$")  # fmt: skip
    rows(city["admin"], "GRANT USAGE ON SCHEMA probe TO credit_recipient_probe_bank")
    try:
        with psycopg.connect(libpq_url(with_user(city["url"], "credit_recipient_probe_bank")), autocommit=True) as conn:
            assert {u for (u,) in conn.execute("SELECT uscc FROM publish.authorised_grades")} == set(own)
            view = "SELECT * FROM publish.authorised_grades"
            probes = [(view, ()), (f"{view} WHERE grade = %s", (other_grade,)), (f"{view} WHERE grade_class < 'C'", ()),
                      (f"{view} WHERE grade >= 'A' AND grade <= 'D'", ()), (f"{view} WHERE uscc = %s", (other,)),
                      (f"{view} WHERE uscc = %s AND grade = %s", (other, other_grade)),
                      (f"{view} WHERE uscc > '' AND score > 0", ()),
                      ("SELECT count(*) FROM publish.authorised_grades WHERE main_reasons LIKE '%%'", ())]  # fmt: skip
            for probe, params in probes:
                (plan,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + probe, params).fetchone()[0]
                for node in _plan_nodes(plan["Plan"]):
                    touched = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
                    touched += node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Join Filter", 0)
                    assert touched <= granted, (probe, node["Node Type"], node.get("Relation Name"), touched)
            # the public view reads only public rows: no scan under it touches an authorised or internal one
            public = rows(city["admin"], "SELECT count(*) FROM publish.grades WHERE disclosure_level = 'public'")[0][0]
            hidden = rows(city["admin"], "SELECT item_key, uscc FROM publish.grades WHERE disclosure_level = 'internal'"
                                         " LIMIT 1")[0]  # fmt: skip
            for probe, params in [("SELECT * FROM publish.public_grades WHERE uscc = %s", (hidden[1],)),
                                  ("SELECT * FROM publish.public_grades WHERE grade = %s", (other_grade,))]:
                (plan,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + probe, params).fetchone()[0]
                for node in _plan_nodes(plan["Plan"]):
                    touched = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
                    touched += node.get("Rows Removed by Filter", 0)
                    assert touched <= public and node.get("Relation Name") != "grades", (probe, node["Node Type"])
            seen = []
            conn.add_notice_handler(lambda d: seen.append(d.message_primary))
            list(conn.execute("SELECT * FROM publish.authorised_grades WHERE probe.peek(uscc) AND probe.peek(grade)"))
            list(conn.execute("SELECT * FROM publish.authorised_grades AS g WHERE g.uscc = %s AND probe.peek(g.grade)",
                              (other,)))  # fmt: skip
            peeked = {m.split(":", 1)[1] for m in seen if m.startswith("peek:")}
            own_values = {v for u in own for v in (u, *(g for (g,) in rows(
                city["admin"], "SELECT grade FROM publish.grades WHERE uscc = %s", (u,))))}  # fmt: skip
            assert peeked and peeked <= own_values
            # the function behind the view answers the recipient for itself only, and nobody else
            assert {u for (u,) in conn.execute("SELECT uscc FROM publish.authorised_grades_rows()")} == set(own)
        with psycopg.connect(libpq_url(url_for("public_reader", city["url"]))) as conn:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM publish.authorised_grades_rows()")
    finally:
        rows(city["admin"], "DROP SCHEMA probe CASCADE")
        access.remove_recipient(city["url"], "probe_bank")


def test_csv_cells_cannot_become_formulas_and_the_receiver_can_undo_it(city, tmp_path):
    cfg = config.load()  # the city platform receives CSV
    publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "o0", spool=tmp_path / "spool")
    penalty = _published_penalties(city, 1)[0][0]
    (key, *original), = rows(city["admin"], "SELECT record_key, subject_name, decision_number, title, detail,"
                                            " authority_name, fine_amount_10k_yuan FROM marts.fct_shared_records"
                                            " WHERE record_key = %s", (penalty,))  # fmt: skip
    dangerous = ['=HYPERLINK("http://x","点我")', "\t怀市监罚〔2025〕1号", "+1", "@SUM(A1)", "-2", -2]
    try:
        rows(city["admin"], "UPDATE marts.fct_shared_records SET subject_name = %s, decision_number = %s, title = %s,"
                            " detail = %s, authority_name = %s, fine_amount_10k_yuan = %s WHERE record_key = %s",
             (*dangerous, key))  # fmt: skip
        publish(city["publisher"], config=cfg, as_of=AS_OF, outbox=tmp_path / "o1", spool=tmp_path / "spool")
        (path,) = sorted((tmp_path / "o1" / "city").glob("penalties_*.csv"))
        table = list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))
        header, row = table[0], next(r for r in table if r[1] == key)
        cells = dict(zip(header, row, strict=True))
        assert cells["行政相对人名称"] == "\'=HYPERLINK(\"http://x\",\"点我\")"
        assert cells["行政处罚决定书文号"] == "\'\t怀市监罚〔2025〕1号"
        assert (cells["处罚类别"], cells["违法行为类型"], cells["处罚机关"]) == ("\'+1", "\'@SUM(A1)", "\'-2")
        assert cells["罚款金额(万元)"] == "-2"  # a number stays a number
        assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for r in table for c in r if c != "-2")
        manifest = json.loads((path.parent / f"{path.name}.manifest.json").read_text(encoding="utf-8"))
        undo = manifest["csv_escaping"]
        assert "apostrophe" in undo["undo"] and "=" in undo["applies_to"]
        restored = {h: (c[1:] if c.startswith("\'") else c) for h, c in cells.items()}  # as the manifest says
        assert [restored[h] for h in ("行政相对人名称", "行政处罚决定书文号", "处罚类别", "违法行为类型", "处罚机关")] \
            == dangerous[:5]
    finally:
        rows(city["admin"], "UPDATE marts.fct_shared_records SET subject_name = %s, decision_number = %s, title = %s,"
                            " detail = %s, authority_name = %s, fine_amount_10k_yuan = %s WHERE record_key = %s",
             (*original, key))  # fmt: skip


def test_the_id_pattern_covers_the_departments_id_columns(city):
    from credit_platform.quality.checkpoints import suite_module

    pattern = re.compile(suite_module("publication").RESIDENT_ID)
    values = []
    for path in city["inbox"].rglob("penalties*.csv"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        for row in csv.DictReader(io.StringIO(text)):
            values += [row[c] for c in ("CF_XDR_ZJHM", "CF_FR_ZJHM") if row.get(c)]
    assert len(values) > 20
    assert all(pattern.search(v) for v in values), [v for v in values if not pattern.search(v)][:5]
    assert not pattern.search("91140681MA0K1234XY") and not pattern.search("怀市监罚〔2025〕12号")


def test_department_workbooks_are_safe_and_typed(city, server, tmp_path_factory):
    spool = tmp_path_factory.mktemp("pub")
    uscc, name = rows(city["admin"], "SELECT g.uscc, s.subject_name FROM marts.fct_industry_credit_grades g"
                                     " JOIN marts.dim_subjects s USING (uscc) WHERE g.industry_code = 'commerce'"
                                     " ORDER BY 1 LIMIT 1")[0]  # fmt: skip
    try:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = '=HYPERLINK(\"http://x\",\"点我\")'"
                            " WHERE uscc = %s", (uscc,))  # fmt: skip
        _publish(city, server, spool)
        written = workbooks.write(city["publisher"], spool / "outbox")
        assert {w.status for w in written} == {"written"}
        assert {w.status for w in workbooks.write(city["publisher"], spool / "outbox")} == {"unchanged"}
        swj = next(w for w in written if w.department_code == "swj")
        ws = load_workbook(swj.path).active
        header = [c.value for c in ws[1]]
        assert header[:3] == ["统一社会信用代码", "主体名称", "行业"] and "主要原因" in header and "等级类别" in header
        assert header == [h for _, h, *_ in config.load().workbooks["grades"].columns]
        cells = {r[0].value: r for r in ws.iter_rows(min_row=2)}
        row = cells[uscc]
        assert row[1].data_type == "s" and row[1].value.startswith("=HYPERLINK") and row[1].quotePrefix
        for r in ws.iter_rows(min_row=2):
            assert r[0].data_type == "s" and r[0].number_format == "@" and len(r[0].value) == 18
            assert r[4].data_type == "s" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[4].value)
            assert r[7].data_type == "n"
            assert not any(c.data_type == "f" for c in r)
        assert ws.max_row - 1 == swj.rows
        # 主要原因 wraps, each row as high as its wrapped text; every page A4 with its number
        (_, _, width, kind), = [c for c in config.load().workbooks["grades"].columns if c[0] == "main_reasons"]
        at = header.index("主要原因")
        assert kind == "wrap" and any(len(r[at].value) > width for r in ws.iter_rows(min_row=2))
        for r in ws.iter_rows(min_row=2):
            assert r[at].alignment.wrap_text and not re.search(r"[A-Za-z]", r[at].value)
            lines = workbooks.wrapped_lines(r[at].value, width)
            assert ws.row_dimensions[r[at].row].height == (workbooks.LINE_POINTS * lines if lines > 1 else None)
        assert str(ws.page_setup.paperSize) == "9" and ws.oddFooter.center.text == "第 &P 页，共 &N 页"
    finally:
        rows(city["admin"], "UPDATE marts.dim_subjects SET subject_name = %s WHERE uscc = %s", (name, uscc))

"""The supervision view in the Airflow UI (plugins/credit_console.py, credit_platform/console/),
served by a real `airflow api-server` over a copy of the graded city whose figures the test sets:
known class counts in two periods, a held period, a department's scope, measures and objections,
one file loaded with known good and bad rows, publications. What the API returns is compared with
those known counts, not with the view's own queries run again."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from alert_receivers import SmtpReceiver, WebhookReceiver, alert_env, wait_for
from conftest import department_file
from sql import rows

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.loader import load_files
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
PASSWORD = "console-test-password"
OBJECTION_HEADER = ["异议编号", "统一社会信用代码", "主体名称", "行业", "评价周期", "异议理由", "证明材料", "答复方式",
                    "受理日期"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, *, token: str | None = None, cookie: str | None = None, data: dict | None = None):
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if cookie:
        req.add_header("Cookie", f"_token={cookie}")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def _known_figures(city: dict) -> dict:
    """Set the city's figures to known counts; returns what the view must then show."""
    admin = city["admin"]
    (p_now, p_before) = [p for (p, _end) in rows(admin, "SELECT DISTINCT evaluation_period, period_end_date"
                                                   " FROM marts.fct_industry_credit_grades ORDER BY 2 DESC")][:2]
    industry, dept = rows(admin, """
        SELECT g.industry_code, i.department_code FROM marts.fct_industry_credit_grades g
          JOIN marts.dim_industries i USING (industry_code)
         GROUP BY 1, 2 HAVING count(*) FILTER (WHERE evaluation_period = %s) >= 4
                          AND count(*) FILTER (WHERE evaluation_period = %s) >= 4
         ORDER BY 1 LIMIT 1""", (p_now, p_before))[0]  # fmt: skip
    # Grades: four subjects in each period, classes A A B D now and A B B B before.
    for period, classes in ((p_now, "AABD"), (p_before, "ABBB")):
        keep = [u for (u,) in rows(admin, "SELECT uscc FROM marts.fct_industry_credit_grades WHERE industry_code = %s"
                                          " AND evaluation_period = %s ORDER BY uscc LIMIT 4", (industry, period))]
        rows(admin, "DELETE FROM marts.fct_industry_credit_grades WHERE industry_code = %s AND evaluation_period = %s"
                    " AND NOT uscc = ANY(%s)", (industry, period, keep))  # fmt: skip
        for uscc, c in zip(keep, classes, strict=True):
            rows(admin, "UPDATE marts.fct_industry_credit_grades SET grade_class = %s, grade = %s WHERE uscc = %s"
                        " AND industry_code = %s AND evaluation_period = %s", (c, c, uscc, industry, period))
    # The drift gate held the period.
    rows(admin, "INSERT INTO ops.validation_runs (stage, checkpoint_name, success, evaluated, failed, details, seconds)"
                " VALUES ('drift', 'class_share_psi', false, 1, 1, %s, 0)",
         (json.dumps({"period": p_now, "threshold": 0.25, "industries": [], "failed": [
             {"expectation": "class_share_psi_at_most", "kwargs": {"industry": industry, "threshold": 0.25},
              "unexpected_count": 1.68, "partial_unexpected_list": []}]}),))  # fmt: skip
    # The department's scope: four subjects in force, three of them graded now, and one deregistered.
    graded = [u for (u,) in rows(admin, "SELECT uscc FROM marts.fct_industry_credit_grades WHERE industry_code = %s"
                                        " AND evaluation_period = %s ORDER BY uscc LIMIT 3", (industry, p_now))]
    ungraded = [u for (u,) in rows(admin, "SELECT uscc FROM marts.dim_subjects s WHERE NOT EXISTS (SELECT FROM"
                                          " marts.fct_industry_credit_grades g WHERE g.uscc = s.uscc)"
                                          " ORDER BY uscc LIMIT 2")]  # fmt: skip
    rows(admin, "DELETE FROM marts.fct_supervision_scopes WHERE department_code = %s", (dept,))
    for uscc, gone in [*((u, False) for u in graded), (ungraded[0], False), (ungraded[1], True)]:
        rows(admin, "INSERT INTO marts.fct_supervision_scopes (department_code, industry_code, uscc, is_deregistered)"
                    " VALUES (%s, %s, %s, %s)", (dept, industry, uscc, gone))  # fmt: skip
    # Measures of the period: 2 due, 1 applied on time, 1 late, 3 overdue; the rest lapsed.
    keys = rows(admin, "SELECT ctid FROM marts.fct_measure_execution WHERE department_code = %s"
                       " AND evaluation_period = %s ORDER BY ctid", (dept, p_now))  # fmt: skip
    assert len(keys) >= 7, f"{dept} has {len(keys)} measures to record in {p_now}: the fixture needs 7"
    statuses = ["due", "due", "applied_on_time", "applied_late", "overdue", "overdue", "overdue"]
    statuses += ["lapsed"] * (len(keys) - len(statuses))
    for (ctid,), status in zip(keys, statuses, strict=True):  # a measure due has its deadline ahead
        rows(admin, "UPDATE marts.fct_measure_execution SET status = %s, deadline = CASE WHEN %s = 'due'"
                    " THEN current_date + 30 ELSE deadline END, due_until = CASE WHEN %s = 'due'"
                    " THEN current_date + 400 ELSE due_until END WHERE ctid = %s",
             (status, status, status, ctid))  # fmt: skip
    return {"now": p_now, "before": p_before, "industry": industry, "department": dept, "graded": graded}


def _load_objections(city: dict, dept: str, subjects: list[str], industry: str, period: str) -> None:
    """Two files through the loader. The first: six objections, five good (three received long before
    2026-03-12, so overdue then; two two days before), one without grounds (rejected). The second:
    one objection without grounds, so every row is rejected and the batch quarantined."""
    good = [[f"YY-C-{i}", subjects[i % 3], "甲", industry, period, "处罚已撤销", "", "书面", received]
            for i, received in enumerate(["2026-02-02", "2026-02-03", "2026-02-04", "2026-03-10", "2026-03-10"])]
    files = [
        department_file(city, dept, "objections_console.csv", OBJECTION_HEADER,
                        [*good, ["YY-C-9", subjects[0], "甲", industry, period, "", "", "书面", "2026-03-10"]]),
        department_file(city, dept, "objections_console_careless.csv", OBJECTION_HEADER,
                        [["YY-C-10", subjects[0], "甲", industry, period, "", "", "书面", "2026-03-10"]]),
    ]  # fmt: skip
    loader = libpq_url(url_for("loader", city["url"]))
    for rel in files:  # one after the other: the careless file is the department's latest
        _results, failures = load_files(loader, [rel], inbox=city["inbox"], archive_dir=city["archive"])
        assert ("careless" in rel) == bool(failures), failures
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "stg_departments__objections+",
                   "--vars", "{objections_as_of: '2026-03-12'}"], base_url=city["url"], capture=True,
                  project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def _publications(city: dict) -> None:
    """The city platform: one batch acknowledged (5 sent, 1 withdrawn), one failed."""
    admin = city["admin"]
    rows(admin, "INSERT INTO ops.publications (platform, disclosure_level, period, status, upserts, withdrawals,"
                " acknowledged_at) VALUES ('city', 'public', 'x', 'acknowledged', 5, 1, '2026-03-01 10:00+08'),"
                " ('city', 'public', 'x', 'failed', 2, 0, NULL)")  # fmt: skip


@pytest.fixture(scope="module")
def console(graded_city, airflow_test_env, tmp_path_factory):
    """A real API server with the plugin, reading a graded city whose figures are known."""
    from credit_platform.local.airflow_env import connection_json

    with graded_city("console") as city:
        known = _known_figures(city)
        _load_objections(city, known["department"], known["graded"], known["industry"], known["now"])
        _publications(city)
        port = _free_port()
        home = tmp_path_factory.mktemp("console")
        (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
        env = {**os.environ, **airflow_test_env,
               "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
               "AIRFLOW_CONN_WAREHOUSE_ANALYST": connection_json(url_for("analyst", city["url"]))}  # fmt: skip
        log = open(home / "api-server.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    assert proc.poll() is None, (home / "api-server.log").read_text(errors="replace")[-4000:]
                    assert time.monotonic() < deadline, "the API server did not answer in 180 s"
                    time.sleep(1)
            status, _, body = _call(f"{base}/auth/token", data={"username": "admin", "password": PASSWORD})
            assert status in (200, 201), body
            yield {**known, "base": base, "token": json.loads(body)["access_token"], "city": city,
                   "log": home / "api-server.log", "env": env}  # fmt: skip
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=60)
            log.close()


def test_the_view_and_its_api_answer_401_without_a_valid_token(console):
    base = console["base"]
    for path in ("/credit/", "/credit/api/overview", f"/credit/departments/{console['department']}",
                 "/credit/api/periods", "/credit/subjects/x"):  # fmt: skip
        for token in (None, "not-a-token", console["token"][:-4] + "AAAA"):
            status, _, body = _call(base + path, token=token)
            assert status == 401, (path, token and token[:10], status, body[:300])
    # The UI's session cookie is a valid credential, as for Airflow's own API.
    status, ctype, _ = _call(base + "/credit/api/periods", cookie=console["token"])
    assert status == 200 and ctype.startswith("application/json")
    # The navigation entry the UI draws.
    status, _, body = _call(base + "/api/v2/plugins", token=console["token"])
    assert status == 200, body
    plugin = next(p for p in json.loads(body)["plugins"] if p["name"] == "credit_console")
    assert plugin["external_views"][0]["url_route"] == "credit-supervision"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/credit"


def test_the_overview_returns_the_known_figures(console):
    status, _, body = _call(f"{console['base']}/credit/api/overview", token=console["token"])
    assert status == 200, body
    data = json.loads(body)
    assert data["period"]["evaluation_period"] == console["now"]
    assert data["previous_period"]["evaluation_period"] == console["before"]

    # Grades: A A B D now, A B B B before; PSI by hand with the gate's 0.5% floor.
    ind = next(i for i in data["grades"]["industries"] if i["industry_code"] == console["industry"])
    assert ind["classes"] == {"A": 2, "B": 1, "C": 0, "D": 1} and ind["total"] == 4
    assert ind["previous"] == {"A": 1, "B": 3, "C": 0, "D": 0}
    assert ind["change"] == {"A": 1, "B": -2, "C": 0, "D": 1}
    now, before = [0.5, 0.25, 0.005, 0.25], [0.25, 0.75, 0.005, 0.005]
    assert ind["psi"] == pytest.approx(sum((p - q) * math.log(p / q) for p, q in zip(now, before, strict=True)),
                                       abs=1e-4)
    assert data["grades"]["held"] is True
    assert console["industry"] in data["grades"]["held_reason"]
    assert data["grades"]["release_command"].startswith(f"credit-platform release {console['now']} ")

    # The department: four subjects supervised, three graded; its measures and objections.
    dep = next(d for d in data["progress"] if d["department_code"] == console["department"])
    assert (dep["supervised"], dep["graded"], dep["graded_share"]) == (4, 3, 0.75)
    assert (dep["measures_due"], dep["measures_applied"], dep["measures_overdue"]) == (2, 2, 3)
    assert (dep["objections_open"], dep["objections_overdue"]) == (5, 3)
    assert (dep["plans_drawn"], dep["inspection_tasks"], dep["results_returned"]) == (0, 0, 0)

    # Loads: the department's two latest files, the careless one quarantined.
    loads = next(d for d in data["loads"]["departments"] if d["department_code"] == console["department"])
    careless, good = loads["latest_files"][:2]
    assert careless["source_file"].endswith("objections_console_careless.csv") and careless["status"] == "quarantined"
    assert (careless["rows_in"], careless["rows_loaded"], careless["rows_rejected"]) == (1, 0, 1)
    assert good["source_file"].endswith("objections_console.csv") and good["status"] == "loaded"
    assert (good["rows_in"], good["rows_loaded"], good["rows_rejected"]) == (6, 5, 1)
    assert loads["quarantined"] == 1 and loads["sent_this_period"] is True

    # Publications: the city platform's two batches.
    city = next(p for p in data["publications"] if p["platform"] == "city")
    assert (city["batches"], city["acknowledged"], city["failed"], city["upserts"], city["withdrawals"]) == \
        (2, 1, 1, 7, 1)  # fmt: skip


def test_departments_that_sent_nothing_are_named(console):
    admin = console["city"]["admin"]
    quiet = rows(admin, "SELECT department_code FROM marts.dim_departments WHERE department_code <> %s"
                        " ORDER BY 1 LIMIT 1", (console["department"],))[0][0]  # fmt: skip
    saved = rows(admin, "SELECT batch_id, started_at, evaluation_period FROM ops.load_batches"
                        " WHERE department_code = %s", (quiet,))  # fmt: skip
    rows(admin, "UPDATE ops.load_batches SET started_at = '2001-01-01', evaluation_period = NULL"
                " WHERE department_code = %s", (quiet,))  # fmt: skip
    try:
        status, _, body = _call(f"{console['base']}/credit/api/overview", token=console["token"])
        assert status == 200, body
        silent = json.loads(body)["loads"]["silent"]
        assert quiet in silent and console["department"] not in silent
        status, ctype, page = _call(f"{console['base']}/credit/", token=console["token"])
        name = rows(admin, "SELECT department_name FROM marts.dim_departments WHERE department_code = %s", (quiet,))
        assert status == 200 and ctype.startswith("text/html")
        assert "本期未报送" in page and name[0][0] in page
    finally:
        for batch_id, started_at, period in saved:
            rows(admin, "UPDATE ops.load_batches SET started_at = %s, evaluation_period = %s WHERE batch_id = %s",
                 (started_at, period, batch_id))


def test_drill_down_from_a_department_to_a_subject_and_its_explanation(console):
    base, token = console["base"], console["token"]
    status, _, body = _call(f"{base}/credit/api/departments/{console['department']}", token=token)
    assert status == 200, body
    dep = json.loads(body)
    graded_now = rows(console["city"]["admin"], """
        SELECT count(*) FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i USING (industry_code)
         WHERE i.department_code = %s AND g.evaluation_period = %s""", (console["department"], console["now"]))[0][0]
    assert dep["total"] == graded_now and len(dep["subjects"]) == min(graded_now, dep["page_size"])
    assert sum(dep["classes"].values()) == graded_now
    # The known industry's four subjects are among the department's, its D the first of them.
    status, _, body = _call(f"{base}/credit/api/departments/{console['department']}?grade_class=D", token=token)
    worst = json.loads(body)
    assert worst["total"] == dep["classes"]["D"] and {s["grade_class"] for s in worst["subjects"]} == {"D"}
    uscc = console["graded"][0]
    status, _, body = _call(f"{base}/credit/api/departments/{console['department']}?grade_class=A&page=1",
                            token=token)  # fmt: skip
    assert uscc in {s["uscc"] for s in json.loads(body)["subjects"]}
    status, _, page = _call(f"{base}/credit/departments/{console['department']}?grade_class=A", token=token)
    assert status == 200 and f"../subjects/{uscc}?period={console['now']}" in page

    status, _, body = _call(f"{base}/credit/api/subjects/{uscc}", token=token)
    assert status == 200, body
    subject = json.loads(body)
    grade = next(g for g in subject["grades"] if g["industry_code"] == console["industry"])
    lines = rows(console["city"]["admin"], "SELECT count(*), sum(points) FROM marts.fct_grade_explanations"
                                           " WHERE uscc = %s AND industry_code = %s AND evaluation_period = %s",
                 (uscc, console["industry"], console["now"]))[0]  # fmt: skip
    assert len(grade["explanation"]) == lines[0] > 0
    assert sum(ln["points"] for ln in grade["explanation"]) == pytest.approx(float(lines[1]))
    status, _, page = _call(f"{base}/credit/subjects/{uscc}", token=token)
    assert status == 200 and grade["explanation"][0]["detail"] in page

    # An unknown department, subject or period: 404 with a message saying what is graded.
    for path in ("/credit/api/departments/nope", "/credit/api/subjects/nope", "/credit/api/departments/x?grade_class=E",
                 "/credit/api/overview?period=1999-H1"):  # fmt: skip
        status, _, body = _call(base + path, token=token)
        assert status == 404, (path, body)
    assert "graded:" in body


def test_the_view_reads_as_the_read_only_analyst(console):
    """The figures are read as credit_analyst in a read-only transaction (the server says so in the
    same transaction), a role that may write nothing."""
    status, _, body = _call(f"{console['base']}/credit/api/overview", token=console["token"])
    assert status == 200, body
    assert json.loads(body)["read_as"] == {"role": "credit_analyst", "read_only": True}
    writable = rows(console["city"]["admin"], """
        SELECT count(*) FROM information_schema.role_table_grants
         WHERE grantee = 'credit_analyst' AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')""")
    assert writable == [(0,)]
    assert "supervision view: overview in" in console["log"].read_text(errors="replace")


def test_the_daily_digest_lists_what_is_overdue(console):
    """`airflow dags test alert_digest` on the city: its three overdue objections and three overdue
    measures (no inspection result is due), in one e-mail and one webhook post."""
    smtp, hook = SmtpReceiver(), WebhookReceiver()
    try:
        res = subprocess.run([str(BIN / "airflow"), "dags", "test", "alert_digest"],
                             env={**console["env"], **alert_env(smtp, hook)}, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        out = res.stdout + res.stderr
        assert res.returncode == 0 and "state=success" in out, out[-3000:]
        assert wait_for(lambda: smtp.messages and hook.posts), out[-3000:]
    finally:
        smtp.stop()
        hook.stop()
    alert = hook.posts[0]["json"]
    assert alert["kind"] == "digest" and alert["context"]["total"] == 6
    assert alert["context"]["by_kind"] == {"异议逾期未答复 objection": 3, "监管措施逾期未落实 measure": 3}
    name = rows(console["city"]["admin"], "SELECT department_name FROM marts.dim_departments"
                                          " WHERE department_code = %s", (console["department"],))[0][0]
    assert alert["context"]["by_department"] == {name: 6}
    assert {i["事项"] for i in alert["items"] if i["类别 kind"].startswith("异议")} == {"YY-C-0", "YY-C-1", "YY-C-2"}
    mail = smtp.messages[0]
    assert mail["Subject"].endswith(": 6 项") and "每日逾期汇总" in mail["Subject"]
    assert "YY-C-0" in mail.get_body(("html",)).get_content()
    assert len(smtp.messages) == len(hook.posts) == 1

    # Forty days on, with no grading run since, the two measures due then are overdue too: the digest
    # judges a measure due on the last run by its deadline against today.
    from credit_platform.alerts.digest import overdue

    due = set(rows(console["city"]["admin"], "SELECT uscc, measure_name FROM marts.fct_measure_execution"
                                             " WHERE department_code = %s AND status = 'due'",
                   (console["department"],)))  # fmt: skip
    assert len(due) == 2 and not due & {(i["统一社会信用代码"], i["事项"]) for i in alert["items"]}

    def measures(day: dt.date) -> dict[tuple, int]:
        return {(i["统一社会信用代码"], i["事项"]): i["逾期工作日"] for i in overdue(console["city"]["admin"], day)
                if i["类别 kind"].startswith("监管措施") and i["部门"] == name}  # fmt: skip

    assert not due & set(measures(dt.date.today() + dt.timedelta(days=20)))
    later = measures(dt.date.today() + dt.timedelta(days=40))
    assert due <= set(later) and all(later[k] > 0 for k in due), later

"""Every runbook in docs/runbooks/ run as written on a copy of the generated city: its `bash` blocks in
order (from the checkout, with the city's warehouse, inbox, archive and outbox in the environment),
and the lines of its `expect` blocks found in their output, in order."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REDIS, dbt_build, department_file, redis_answers
from sql import rows

from credit_platform.settings import paths

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted(p for p in (ROOT / "docs" / "runbooks").glob("*.md") if p.name != "README.md")
BLOCK = re.compile(r"^```(bash|expect)\n(.*?)^```", re.M | re.S)


def blocks(page: Path) -> tuple[list[str], list[str]]:
    """The page's commands (one string per bash block) and expected lines (regular expressions)."""
    found = BLOCK.findall(page.read_text(encoding="utf-8"))
    commands = [body for kind, body in found if kind == "bash"]
    expected = [line for kind, body in found if kind == "expect" for line in body.splitlines() if line.strip()]
    return commands, expected


def test_every_runbook_is_listed_and_has_commands_and_outcomes():
    index = (ROOT / "docs" / "runbooks" / "README.md").read_text(encoding="utf-8")
    for page in RUNBOOKS:
        commands, expected = blocks(page)
        assert page.name in index, f"{page.name} is not in docs/runbooks/README.md"
        assert commands and expected, f"{page.name}: a runbook needs bash blocks and expect blocks"


def _late_penalty(city: dict) -> str:
    """A penalty of 2025-H1 for a graded subject, delivered as a late file."""
    uscc = rows(city["admin"], "SELECT uscc FROM marts.fct_industry_credit_grades WHERE evaluation_period = '2025-H1'"
                               " ORDER BY uscc LIMIT 1")[0][0]  # fmt: skip
    return department_file(city, "scjgj", "penalties_late.csv", ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_JDRQ"],
                           [["迟报主体", uscc, "警告", "2025-05-20"]])  # fmt: skip


def _close_a_period(city: dict, env: dict) -> None:
    env["LATE_FILE"] = _late_penalty(city)


def _city_project(city: dict, env: dict) -> None:
    """The commands grade with the city's copy of the dbt project (CREDIT_HOME/dbt_project), which the
    page edits, never the checkout's."""
    env["CREDIT_HOME"] = str(city["project"].parent)


def _first_half_closed(city: dict, env: dict) -> None:
    """As the weights change for 2025-H2, 2025-H1 is closed (under HR-2025.1)."""
    from credit_platform.grading.periods import close_period

    _city_project(city, env)
    close_period(city["admin"], "2025-H1", requested_by="数据组")
    dbt_build(city)


def _department_files(city: dict, env: dict) -> None:
    """What departments sent: wjj's penalties headed 处罚作出日期 for the decision date, mailed to the
    data team (outside the inbox); the first file of nyncj, a department the platform does not know, in
    its new inbox folder."""
    import datetime as dt

    from credit_platform.settings import today

    subjects = rows(city["admin"], "SELECT s.uscc, s.subject_name FROM marts.fct_industry_credit_grades g"
                                   " JOIN marts.dim_industries i USING (industry_code) JOIN marts.dim_subjects s"
                                   " USING (uscc) WHERE i.department_code = 'wjj' GROUP BY 1, 2 ORDER BY 1 LIMIT 2")
    days = [today() - dt.timedelta(days=n) for n in (30, 20)]
    received = city["inbox"].parent / "received"
    received.mkdir()
    with open(received / "penalties_2026_11.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "处罚作出日期"])
        w.writerows([[name, uscc, f"怀卫罚〔{day.year}〕{31 + i}号", category, fine, day.isoformat()]
                     for i, ((uscc, name), category, fine, day)
                     in enumerate(zip(subjects, ["警告", "罚款"], ["0", "0.5"], days, strict=True))])  # fmt: skip
    env["RECEIVED"] = str(received / "penalties_2026_11.csv")
    (city["inbox"] / "departments" / "nyncj").mkdir()
    department_file(city, "nyncj", "inspectors.csv", ["执法人员编号", "姓名", "执法证号", "回避主体统一社会信用代码"],
                    [["nyncj-001", "李明", "14068120260101", ""], ["nyncj-002", "王芳", "14068120260102", ""]])


def _overdue_items(city: dict, env: dict) -> None:
    """One item of each kind the daily digest lists, all scjgj's, as a city graded weeks ago has them: an
    objection received 60 days ago and not answered; a measure due since the subject's grade of 60 days
    ago and never recorded; an inspection result returned for a public plan and not published, the marts
    checkpoint passed (as after a grading run). The page grades with the city's copy of the dbt project."""
    import datetime as dt
    import time

    from openpyxl import load_workbook

    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.ingest.loader import load_files
    from credit_platform.inspection import announcements, draw, lists
    from credit_platform.quality.checkpoints import run_checkpoint
    from credit_platform.settings import today
    from credit_platform.warehouse.urls import libpq_url, url_for

    env["CREDIT_HOME"] = str(city["project"].parent)
    admin, past = city["admin"], today() - dt.timedelta(days=60)
    loader, publisher = (libpq_url(url_for(role, city["url"])) for role in ("loader", "publisher"))
    uscc, industry, period = rows(admin, "SELECT g.uscc, g.industry_code, g.evaluation_period"
                                         " FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i"
                                         " USING (industry_code) WHERE i.department_code = 'scjgj'"
                                         " ORDER BY g.period_end_date DESC, g.uscc LIMIT 1")[0]  # fmt: skip
    env["NUMBER"] = f"YY-SCJGJ-{past:%Y%m%d}-001"
    header = ["异议编号", "统一社会信用代码", "行业", "评价周期", "异议理由", "答复方式", "受理日期"]
    objection = department_file(city, "scjgj", "objections_overdue.csv", header,
                                [[env["NUMBER"], uscc, industry, period, "处罚已撤销，评价应予更正", "书面",
                                  past.isoformat()]])  # fmt: skip
    # The measure: a subject with measures to record (scjgj's only), its grade moved 60 days back; all but
    # one were recorded the next day.
    env["USCC"], (env["MEASURE"], *others) = rows(admin, (
        "SELECT uscc, array_agg(measure_code ORDER BY measure_code) FROM marts.fct_measure_execution GROUP BY uscc"
        " HAVING count(DISTINCT department_code) = 1 AND min(department_code) = 'scjgj' ORDER BY count(*), uscc"
        " LIMIT 1"))[0]  # fmt: skip
    rows(admin, "UPDATE history.grade_versions SET valid_from = valid_from - interval '60 days',"
                " valid_to = valid_to - interval '60 days' WHERE uscc = %s", (env["USCC"],))  # fmt: skip
    files = [objection]
    if others:
        files.append(department_file(city, "scjgj", "measure_executions_runbook.csv", ["统一社会信用代码", "措施代码",
                                     "执行日期"], [[env["USCC"], m, str(past + dt.timedelta(days=1))] for m in others]))
    # The inspection result: a round announced and drawn, one row of scjgj's form returned 60 days ago.
    (now,) = rows(publisher, "SELECT now()")[0]
    announcements.announce(publisher, "runbook-R1", "上证指数收盘点位", now + dt.timedelta(milliseconds=300))
    announcements.record_value(publisher, "runbook-R1", "3341.27")
    time.sleep(1)
    draw.draw(publisher, period, "3341.27", draw_round="runbook-R1", drawn_on=past - dt.timedelta(days=10))
    written = lists.write(publisher, city["inbox"].parent / "lists", "runbook-R1")
    form = next(li.form_path for li in written if li.department_code == "scjgj")
    wb = load_workbook(form)
    at = {c.value: c.column for c in wb.active[1]}
    wb.active.cell(row=2, column=at["检查日期"], value=past)
    wb.active.cell(row=2, column=at["检查结果"], value=lists.results()[0])
    wb.save(city["inbox"] / "departments" / "scjgj" / form.name)
    files.append(f"departments/scjgj/{form.name}")
    _results, failures = load_files(loader, files, inbox=city["inbox"], archive_dir=city["archive"])
    assert not failures, failures
    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "-s", "fct_grade_history+",
                   "fct_inspection_outcomes"], base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert run_checkpoint(publisher, "marts").success


# What a page needs prepared on the city before its commands run (a file a department "sent", ...),
# by page name; it may add variables to the commands' environment. A page not named needs nothing.
SETUP: dict[str, Callable[[dict, dict], None]] = {
    "close-a-period-and-regrade": _close_a_period,
    "rerun-and-backfill-a-period": _city_project,
    "change-indicator-weights": _first_half_closed,
    "onboard-a-department": _department_files,
    "answer-an-overdue-alert": _overdue_items,
}


def _run_page(page: Path, env: dict) -> str:
    """The page's bash blocks in one shell (so that its variables carry from block to block), its
    expect lines found in the output in order; returns the output."""
    commands, expected = blocks(page)
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", "\n".join(commands)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = proc.communicate(timeout=900)[0]  # both streams as they came: "in order" is as printed
    finally:  # what a page started in the background (a worker) ends with it, even when the page fails
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0, f"{page.name}: exit {proc.returncode}\n{output[-4000:]}"
    at = 0
    for line in expected:
        m = re.compile(line).search(output, at)
        assert m, f"{page.name}: expected {line!r} after what came before, in:\n{output[-4000:]}"
        at = m.end()
    return output


def _logins_refused_and_accepted(local: Path, before: dict[str, str]) -> None:
    """After the rotation page: every component role's old password is refused, its new one accepted."""
    import psycopg

    from credit_platform.warehouse import embedded, passfile
    from credit_platform.warehouse.roles import ROLES

    port = embedded._configured_port(local / "pgdata")
    after = passfile.passwords(local / "warehouse.pgpass")
    for r in ROLES.values():
        assert after[r.name] != before[r.name], f"{r.name} kept its password"
        kw = {"host": "127.0.0.1", "port": port, "dbname": "postgres", "user": r.name, "connect_timeout": 5,
              "passfile": str(local / "no-passfile")}  # fmt: skip
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(password=before[r.name], **kw).close()
        psycopg.connect(password=after[r.name], **kw).close()


# Pages that change what the whole server shares (its roles' passwords) run on an embedded server of
# their own, never on the one other tests use at the same time; then the check beside them runs.
OWN_SERVER: dict[str, Callable[[Path, dict], None]] = {
    "rotate-credentials": _logins_refused_and_accepted,
}


def _with_celery(request, tmp_path: Path) -> dict:
    """Airflow's environment on the session's databases with the CeleryExecutor and Redis as the broker,
    queues of the test's own (so that no other test's task is taken, nor this one's by another)."""
    import uuid

    from sqlalchemy.engine import make_url

    if not redis_answers():
        pytest.skip(f"no Redis answers on {REDIS[0]}:{REDIS[1]}: a Celery worker needs one (these machines run it)")
    base = request.getfixturevalue("airflow_test_env")
    tag = uuid.uuid4().hex[:8]
    meta = make_url(base["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).render_as_string(hide_password=False)
    return {**os.environ, **base, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta, "QUEUE": f"credit_test_{tag}_heavy",
            "NAME": f"heavy-2-{tag}", "OTHER": f"credit_test_{tag}_default", "LOG": str(tmp_path / "worker.log"),
            "PYTHONUNBUFFERED": "1"}  # fmt: skip


# Pages about Airflow's workers: run with the Celery environment above, on no city.
CELERY = {"add-a-worker"}


@pytest.mark.parametrize("page", RUNBOOKS, ids=[p.stem for p in RUNBOOKS])
def test_a_runbook_does_what_it_says(page, request, tmp_path):
    if page.stem in OWN_SERVER:
        _on_a_server_of_its_own(page, request.getfixturevalue("own_local"))
        return
    if page.stem in CELERY:
        _run_page(page, _with_celery(request, tmp_path))
        return
    graded_city = request.getfixturevalue("graded_city")
    with graded_city(f"runbook_{page.stem.replace('-', '_')}"[:40]) as city:
        env = {**os.environ, "WAREHOUSE_URL": city["url"], "CREDIT_INBOX": str(city["inbox"]),
               "CREDIT_ARCHIVE": str(city["archive"]), "CREDIT_OUTBOX": str(tmp_path / "outbox"),
               "CREDIT_LOCAL_DIR": str(tmp_path / "local"), "PGPASSFILE": str(paths().warehouse_passfile),
               "PYTHONUNBUFFERED": "1"}  # fmt: skip
        if page.stem in SETUP:
            SETUP[page.stem](city, env)
        _run_page(page, env)


def _on_a_server_of_its_own(page: Path, local: Path) -> None:
    import socket

    from credit_platform.warehouse import passfile

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WAREHOUSE_URL": "", "CREDIT_LOCAL_DIR": str(local), "CREDIT_PG_PORT": str(port),
           "PGPASSFILE": str(local / "warehouse.pgpass"), "PYTHONUNBUFFERED": "1"}  # fmt: skip
    for r in [k for k in env if k.startswith("CREDIT_") and k.endswith("_PASSWORD")]:
        env.pop(r)  # the generated passwords, as on a newcomer's machine
    cp = str(Path(sys.executable).parent / "credit-platform")
    try:
        start = subprocess.run([cp, "warehouse", "start"], env=env, capture_output=True, text=True, timeout=300)
        assert start.returncode == 0, start.stderr
        before = passfile.passwords(local / "warehouse.pgpass")
        _run_page(page, env)
        OWN_SERVER[page.stem](local, before)
    finally:
        subprocess.run([cp, "stop"], env=env, capture_output=True, text=True, timeout=300)

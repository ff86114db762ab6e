"""Every runbook in docs/runbooks/ run as written on a copy of the generated city: its `bash` blocks in
order (from the checkout, with the city's warehouse, inbox, archive and outbox in the environment),
and the lines of its `expect` blocks found in their output, in order."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import dbt_build, department_file
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


# What a page needs prepared on the city before its commands run (a file a department "sent", ...),
# by page name; it may add variables to the commands' environment. A page not named needs nothing.
SETUP: dict[str, Callable[[dict, dict], None]] = {
    "close-a-period-and-regrade": _close_a_period,
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


REDIS = ("127.0.0.1", 6379)


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(REDIS, timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _with_celery(request, tmp_path: Path) -> dict:
    """Airflow's environment on the session's databases with the CeleryExecutor and Redis as the broker,
    queues of the test's own (so that no other test's task is taken, nor this one's by another)."""
    import uuid

    from sqlalchemy.engine import make_url

    if not _redis_answers():
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

"""The command line and the embedded server, as a newcomer uses them through make."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from credit_platform.warehouse import migrate

pytestmark = pytest.mark.integration

N = len(migrate.discover())

CP = str(Path(sys.executable).parent / "credit-platform")


def _cp(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([CP, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_url_commands_print_only_the_url(warehouse):
    res = _cp(["warehouse", "url"], WAREHOUSE_URL=warehouse)
    assert res.returncode == 0 and res.stdout == warehouse + "\n"
    res = _cp(["warehouse", "url", "--role", "analyst"], WAREHOUSE_URL=warehouse)
    assert res.stdout.startswith("postgresql://credit_analyst@") and res.stdout.strip().endswith(warehouse[-20:])


def test_status_migrate_and_check_on_a_current_warehouse(warehouse):
    assert _cp(["warehouse", "migrate", "--status"], WAREHOUSE_URL=warehouse).returncode == 0
    res = _cp(["health"], WAREHOUSE_URL=warehouse)
    assert res.returncode == 0 and "platform healthy" in res.stderr


def test_recipient_add_and_remove(warehouse):
    res = _cp(["warehouse", "recipient", "add", "cli_test_bank"], WAREHOUSE_URL=warehouse)
    assert res.returncode == 0, res.stderr
    with psycopg.connect(warehouse) as conn:
        member = conn.execute(
            "SELECT pg_has_role('credit_recipient_cli_test_bank', 'credit_authorised', 'MEMBER')"
        ).fetchone()[0]
    assert member
    assert _cp(["warehouse", "recipient", "remove", "cli_test_bank"], WAREHOUSE_URL=warehouse).returncode == 0
    bad = _cp(["warehouse", "recipient", "add", "Bank; DROP ROLE postgres"], WAREHOUSE_URL=warehouse)
    assert bad.returncode == 1 and "must be 2-41 lower-case letters" in bad.stderr


def test_an_unreachable_warehouse_gives_a_clear_error():
    res = _cp(["warehouse", "migrate"], WAREHOUSE_URL="postgresql://postgres@127.0.0.1:9/credit")
    assert res.returncode == 1
    assert res.stderr.startswith("error:") and "127.0.0.1" in res.stderr and "Traceback" not in res.stderr


def test_embedded_server_first_start_taken_port_restart_and_stop(tmp_path):
    """A fresh data folder: initialised, on a free port when the preferred one is taken, data kept
    across stop and start, and stopped by `stop`."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        env = {"CREDIT_LOCAL_DIR": str(tmp_path / "local"), "CREDIT_PG_PORT": str(taken), "WAREHOUSE_URL": ""}
        try:
            start = _cp(["warehouse", "start"], **env)
            assert start.returncode == 0, start.stderr
            assert f"{N} migration(s) applied" in start.stderr and "created Airflow's database" in start.stderr
            url = _cp(["warehouse", "url"], **env).stdout.strip()
            assert url.startswith("postgresql://postgres@127.0.0.1:") and f":{taken}/" not in url
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE TABLE raw.kept (i int)")

            assert _cp(["warehouse", "stop"], **env).returncode == 0
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(url, connect_timeout=3)
            assert _cp(["warehouse", "status"], **env).returncode == 1

            again = _cp(["warehouse", "start"], **env)
            assert again.returncode == 0 and f"0 migration(s) applied, {N} already there" in again.stderr
            assert _cp(["warehouse", "url"], **env).stdout.strip() == url
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT to_regclass('raw.kept') IS NOT NULL").fetchone()[0]
        finally:
            stop = _cp(["stop"], **env)
    assert stop.returncode == 0 and "warehouse: stopped" in stop.stderr

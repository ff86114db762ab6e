"""The command line and the embedded server, as a newcomer uses them through make."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from credit_platform.settings import paths
from credit_platform.warehouse import embedded, migrate
from credit_platform.warehouse.roles import ROLES
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

N = len(migrate.discover())

CP = str(Path(sys.executable).parent / "credit-platform")


def _cp(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([CP, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


NO_PASSFILE = str(Path(__file__).with_name("no-such-passfile"))  # libpq reads no password file
EXTERNAL = bool(os.environ.get("WAREHOUSE_URL", "").strip())


def _without_password(url: str) -> str:
    return libpq_url(make_url(url)._replace(password=None))


def _refused(url: str) -> None:
    """A login with this URL fails for want of the right password (libpq's password file is not read)."""
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url, connect_timeout=5, passfile=NO_PASSFILE).close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_url_commands_print_only_the_url(warehouse):
    res = _cp(["warehouse", "url"], WAREHOUSE_URL=warehouse)
    assert res.returncode == 0 and res.stdout == warehouse + "\n"
    res = _cp(["warehouse", "url", "--role", "analyst"], WAREHOUSE_URL=warehouse)
    assert make_url(res.stdout.strip()).username == "credit_analyst"
    assert res.stdout.strip().endswith(warehouse[-20:])


@pytest.mark.skipif(EXTERNAL, reason="WAREHOUSE_URL names a server of its own: its authentication is not ours")
def test_the_embedded_server_asks_every_role_for_its_password(warehouse, monkeypatch):
    """No login without the password kept in .local/warehouse.pgpass (0600): not the superuser's,
    not a component's; a wrong one is refused too. Every URL the platform builds carries it."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    store = paths().local / "warehouse.pgpass"
    assert _mode(store) == 0o600
    urls = {"postgres": libpq_url(warehouse)} | {c: libpq_url(url_for(c, warehouse)) for c in ROLES}
    for who, url in urls.items():
        password = make_url(url).password
        assert password, f"{who}: the URL carries no password"
        if who == "airflow":  # it may connect only to Airflow's own database
            url = libpq_url(make_url(url).set(database="postgres"))
        with psycopg.connect(url, connect_timeout=5, passfile=NO_PASSFILE) as conn:
            conn.execute("SELECT 1")
        _refused(_without_password(url))
        _refused(libpq_url(make_url(url).set(password="x" + password)))
        # the file is a libpq password file: PGPASSFILE pointing at it is enough
        psycopg.connect(_without_password(url), connect_timeout=5, passfile=str(store)).close()
    hba = (paths().pgdata / "pg_hba.conf").read_text()
    methods = {line.split()[-1] for line in hba.splitlines() if line.strip() and not line.startswith("#")}
    assert methods == {"scram-sha-256"}


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


def test_psql_takes_its_own_options_as_they_are(warehouse):
    """`warehouse psql --role analyst -c ...`: psql's options pass through (argparse would take -c for ours)."""
    for args in (["--role", "analyst", "-At", "-c", "SELECT current_user"],
                 ["--role=analyst", "--", "-At", "-c", "SELECT current_user"]):  # fmt: skip
        res = _cp(["warehouse", "psql", *args], WAREHOUSE_URL=os.environ.get("WAREHOUSE_URL", ""))
        assert res.returncode == 0 and res.stdout.strip() == "credit_analyst", res.stderr


def test_rotation_is_refused_before_anything_changes_when_the_new_password_is_not_ours_to_choose(own_local):
    """Another server: the new password must be in CREDIT_<COMPONENT>_PASSWORD (refused before connecting);
    the embedded one: a role whose password that variable fixes changes there, refused before the server
    is even started (a start with the variable set would itself give the role that password). The
    embedded case uses a data folder of its own, never the server other tests share: roles are the
    whole server's. (The rotation itself runs on a server of its own, in the runbook's test.)"""
    res = _cp(["warehouse", "rotate", "loader"], WAREHOUSE_URL="postgresql://postgres@127.0.0.1:9/credit",
              CREDIT_LOADER_PASSWORD="")  # fmt: skip
    assert res.returncode == 1 and "nothing changed: credit_loader: put its new password in CREDIT_LOADER_PASSWORD" \
        in res.stderr, res.stderr
    res = _cp(["warehouse", "rotate", "analyst", "loader"], WAREHOUSE_URL="", CREDIT_LOCAL_DIR=str(own_local),
              CREDIT_LOADER_PASSWORD="x" * 24)  # fmt: skip
    assert res.returncode == 1 and "credit_loader: its password is set by CREDIT_LOADER_PASSWORD" in res.stderr
    assert "credit_analyst" not in res.stderr
    assert not (own_local / "pgdata").exists(), "refused before any server was started"
    res = _cp(["warehouse", "rotate", "nobody"], WAREHOUSE_URL="", CREDIT_LOCAL_DIR=str(own_local))
    assert res.returncode == 1 and "unknown component 'nobody'" in res.stderr
    assert not (own_local / "pgdata").exists()


def test_an_unreachable_warehouse_gives_a_clear_error():
    res = _cp(["warehouse", "migrate"], WAREHOUSE_URL="postgresql://postgres@127.0.0.1:9/credit")
    assert res.returncode == 1
    assert res.stderr.startswith("error:") and "127.0.0.1" in res.stderr and "Traceback" not in res.stderr


def test_embedded_server_first_start_taken_port_restart_and_stop(own_local):
    """A fresh data folder: initialised, on a free port when the preferred one is taken, data kept
    across stop and start, and stopped by `stop`."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        env = {"CREDIT_LOCAL_DIR": str(own_local), "CREDIT_PG_PORT": str(taken), "WAREHOUSE_URL": ""}
        try:
            start = _cp(["warehouse", "start"], **env)
            assert start.returncode == 0, start.stderr
            assert f"{N} migration(s) applied" in start.stderr and "created Airflow's database" in start.stderr
            url = _cp(["warehouse", "url"], **env).stdout.strip()
            assert url.startswith("postgresql://postgres:") and f":{taken}/" not in url
            assert make_url(url).password not in start.stderr
            assert _mode(own_local / "warehouse.pgpass") == 0o600
            _refused(_without_password(url))
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


def _trust_data_folder(pgdata: Path, port: int) -> None:
    """A data folder as the embedded server made it before it asked for passwords (initdb --auth=trust)."""
    pgdata.mkdir(parents=True)
    os.chmod(pgdata, 0o700)
    embedded._prepare_root(pgdata)
    res = embedded._pg("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                       "--no-locale", timeout=180)  # fmt: skip
    assert res.returncode == 0, res.stderr
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write(f"listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nport = {port}\n")
    embedded._prepare_root(pgdata)
    res = embedded._pg("pg_ctl", "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w", "start", timeout=90)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("left", ["running", "stopped"])
def test_a_data_folder_made_with_trust_is_upgraded_to_passwords(own_local, monkeypatch, left):
    """A developer's server from before (trust), left running or stopped: the next start sets
    passwords, rewrites pg_hba.conf to scram-sha-256 and reloads, says so in the log, keeps the data."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    local = own_local
    port = embedded._free_port()
    env = {"CREDIT_LOCAL_DIR": str(local), "WAREHOUSE_URL": ""}
    _trust_data_folder(local / "pgdata", port)
    old = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        with psycopg.connect(old, autocommit=True) as conn:
            conn.execute("CREATE DATABASE credit")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/credit") as conn:
            conn.execute("CREATE TABLE kept (i int)")
        if left == "stopped":
            assert embedded._pg("pg_ctl", "-D", str(local / "pgdata"), "-w", "stop").returncode == 0

        start = _cp(["warehouse", "start"], **env)
        assert start.returncode == 0, start.stderr
        assert "scram-sha-256" in start.stderr and "trust" in start.stderr
        _refused(old)
        url = _cp(["warehouse", "url"], **env).stdout.strip()
        assert make_url(url).port == port and make_url(url).password not in start.stderr
        with psycopg.connect(url, passfile=NO_PASSFILE) as conn:
            assert conn.execute("SELECT to_regclass('public.kept') IS NOT NULL").fetchone()[0]
        loader = _cp(["warehouse", "url", "--role", "loader"], **env).stdout.strip()
        psycopg.connect(loader, passfile=NO_PASSFILE).close()
        _refused(_without_password(loader))
        assert _mode(local / "warehouse.pgpass") == 0o600
        assert "trust" not in "".join(
            line for line in (local / "pgdata" / "pg_hba.conf").read_text().splitlines() if not line.startswith("#")
        )
        again = _cp(["warehouse", "start"], **env)
        assert again.returncode == 0 and "trust" not in again.stderr
    finally:
        _cp(["stop"], **env)


@pytest.mark.skipif(EXTERNAL, reason="WAREHOUSE_URL names a server of its own: its authentication is not ours")
def test_airflow_connections_and_dbt_carry_the_passwords(warehouse, monkeypatch):
    """Airflow's connections and dbt's profile get each role's password from the URLs built for
    them: they connect with no password file to fall back on."""
    import json

    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.local.airflow_env import airflow_env

    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", NO_PASSFILE)
    env = airflow_env(base_url=warehouse)
    assert make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).password
    for r in ROLES.values():
        if r.component == "airflow":
            continue
        conn = json.loads(env[f"AIRFLOW_CONN_{r.airflow_conn_id.upper()}"])
        assert conn.get("password"), r.airflow_conn_id
        psycopg.connect(host=conn["host"], port=conn["port"], user=conn["login"], password=conn["password"],
                        dbname=conn["schema"], passfile=NO_PASSFILE, connect_timeout=5).close()  # fmt: skip
    res = run_dbt(["debug"], base_url=warehouse, capture=True, env={"PGPASSFILE": NO_PASSFILE})
    assert res.returncode == 0, res.stdout[-3000:]

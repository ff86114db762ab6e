"""Start and stop the local Airflow 3 services (API server, scheduler, DAG processor, triggerer).

Each service runs in its own process group (so stopping it also stops the workers it forked),
with its pid in ``.local/run/<service>.pid`` and its output in ``.local/run/<service>.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from credit_platform.settings import paths

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def _pidfile(service: str) -> Path:
    return paths().run / f"{service}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> dict[str, int]:
    out = {}
    for service in SERVICES:
        pf = _pidfile(service)
        if pf.exists():
            try:
                pid = int(pf.read_text().strip())
            except ValueError:
                continue
            if _alive(pid):
                out[service] = pid
    return out


def run_airflow(args: list[str], env: dict, *, log: Path | None = None, timeout: float = 1800,
                check: bool = False) -> subprocess.CompletedProcess:  # fmt: skip
    """One ``airflow`` command in the given environment; output captured, or written to ``log``."""
    cmd, full = [_bin("airflow"), *args], {**os.environ, **env}
    if log is None:
        res = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)
    else:
        with open(log, "w") as fh:
            res = subprocess.run(cmd, env=full, stdout=fh, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and res.returncode != 0:
        out = f"{(res.stdout or '')[-3000:]}\n{(res.stderr or '')[-3000:]}"
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{out}")
    return res


def prepare(env: dict) -> None:
    """Migrate Airflow's metadata database (idempotent; about 3 s)."""
    run_airflow(["db", "migrate"], env, check=True)


def unpause_all(env: dict) -> None:
    """Every DAG already in Airflow's metadata database unpaused (one made paused before
    ``AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION`` was False, or paused by hand since); DAGs parsed
    for the first time start unpaused through that setting. Nothing to unpause is not an error."""
    run_airflow(["dags", "unpause", "--treat-dag-id-as-regex", "--yes", ".*"], env)


def start(env: dict, services: tuple[str, ...] = SERVICES) -> dict[str, int]:
    run = paths().run
    run.mkdir(parents=True, exist_ok=True)
    full = {**os.environ, **env}
    started = {}
    already = running()
    for service in services:
        if service in already:
            started[service] = already[service]
            continue
        args = [_bin("airflow"), service]
        if service == "api-server":
            args += ["--host", env["AIRFLOW__API__HOST"], "--port", env["AIRFLOW__API__PORT"]]
        log = open(run / f"{service}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            args, env=full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        _pidfile(service).write_text(str(proc.pid))
        started[service] = proc.pid
    return started


def wait_healthy(port: int, timeout: float = 120) -> dict:
    """Wait until the API server answers its health endpoint with every component healthy."""
    url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = json.loads(resp.read())
            states = {k: (v or {}).get("status") for k, v in body.items() if isinstance(v, dict)}
            last = json.dumps(states)
            if all(s == "healthy" for s in states.values() if s is not None) and states.get("scheduler") == "healthy":
                return body
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as exc:
            last = str(exc)
        dead = [s for s in SERVICES if s not in running()]
        if dead and _pidfile(dead[0]).exists():
            log = paths().run / f"{dead[0]}.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"airflow {dead[0]} exited; end of {log}:\n{tail}")
        time.sleep(1)
    raise TimeoutError(f"Airflow at {url} was not healthy after {timeout:.0f} s (last: {last})")


def stop(timeout: float = 30) -> list[str]:
    """Stop every service this checkout started (whole process groups). Returns what was stopped."""
    stopped = []
    for service, pid in running().items():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        stopped.append(service)
    deadline = time.monotonic() + timeout
    for service in stopped:
        pid = int(_pidfile(service).read_text())
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for service in SERVICES:
        _pidfile(service).unlink(missing_ok=True)
    return stopped


@dataclass(frozen=True)
class Login:
    url: str
    username: str
    password: str | None
    source: Path


def login_details(env: dict) -> Login:
    home = Path(env["AIRFLOW_HOME"])
    pwfile = Path(
        os.environ.get(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", home / "simple_auth_manager_passwords.json.generated"
        )
    )
    user = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")[0].split(":")[0]
    password = None
    if pwfile.exists():
        password = json.loads(pwfile.read_text()).get(user)
    return Login(env["AIRFLOW__API__BASE_URL"], user, password, pwfile)

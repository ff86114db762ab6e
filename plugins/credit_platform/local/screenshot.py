"""``make screenshot``: the supervision view as a browser shows it, on the warehouse's data.

Starts Airflow's API server alone (with the plugin) on a free port, logs in through Airflow's own
``/auth/token``, and opens the view in headless Chromium, Debian's ``chromium`` package driven by
Playwright (``executable_path``: Playwright's downloaded browsers do not run on these machines).
Saves full-page PNGs of the view's main page, of one department (the one with the most graded
subjects) and of the Airflow UI with the view in its navigation; reports each page's load time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@dataclass
class Shots:
    folder: Path
    files: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def chromium_path() -> str:
    found = os.environ.get("CREDIT_CHROMIUM") or next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)
    if not found:
        raise RuntimeError("Chromium is not installed: install Debian's package (`apt-get install chromium`),"
                           " or set CREDIT_CHROMIUM to a Chromium binary / 未安装 Chromium")  # fmt: skip
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, data: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _api_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    from credit_platform.local.services import _bin

    airflow = _bin("airflow")
    fh = open(log, "wb")  # noqa: SIM115 - handed to the child
    return subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)],
                            env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip


def take(env: dict, folder: Path, *, timeout: float = 180) -> Shots:
    """Screenshots of the view, with Airflow's environment ``env`` (its metadata database migrated)."""
    from playwright.sync_api import sync_playwright

    browser_path = chromium_path()
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    home = Path(env["AIRFLOW_HOME"])
    pwfile = folder / "passwords.json"
    password = os.urandom(12).hex()
    pwfile.write_text(json.dumps({"admin": password}))
    pwfile.chmod(0o600)
    env = {**env, "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__BASE_URL": base,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pwfile)}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    proc = _api_server(env, port, folder / "api-server.log")
    shots = Shots(folder)
    try:
        deadline = time.monotonic() + timeout
        while _request_ok(f"{base}/api/v2/monitor/health") is False:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start; see {folder / 'api-server.log'}")
            time.sleep(1)
        status, body = _request(f"{base}/auth/token", {"username": "admin", "password": password})
        if status not in (200, 201):
            raise RuntimeError(f"could not log in to Airflow ({status}): {body[:300]!r}")
        token = json.loads(body)["access_token"]
        status, body = _request(f"{base}/credit/api/overview", token=token)
        if status != 200:
            raise RuntimeError(f"the view answered {status}: {body[:500].decode(errors='replace')}")
        overview = json.loads(body)
        dept = max(overview["progress"], key=lambda d: d["graded"])["department_code"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1,
                                          locale="zh-CN", timezone_id="Asia/Shanghai")  # fmt: skip
            context.add_cookies([{"name": "_token", "value": token, "url": base}])
            page = context.new_page()
            for name, path in (("overview", "/credit/"), (f"department-{dept}", f"/credit/departments/{dept}")):
                t0 = time.monotonic()
                response = page.goto(base + path, wait_until="load")
                shots.seconds[name] = round(time.monotonic() - t0, 2)
                if response is None or response.status != 200:
                    raise RuntimeError(f"{path}: {response and response.status}")
                out = folder / f"{name}.png"
                page.screenshot(path=str(out), full_page=True)
                shots.files.append(out)
            # The Airflow UI with the view in its navigation, shown in the UI's frame.
            t0 = time.monotonic()
            page.goto(f"{base}/plugin/credit-supervision", wait_until="networkidle")
            page.frame_locator("iframe").locator("#grades").wait_for(timeout=60_000)
            shots.seconds["airflow-ui"] = round(time.monotonic() - t0, 2)
            out = folder / "airflow-ui.png"
            page.screenshot(path=str(out))
            shots.files.append(out)
            browser.close()
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        pwfile.unlink(missing_ok=True)
    return shots


def _request_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False

"""A watchdog for tests that stop making progress.

When a test has run for ``WATCHDOG_SECONDS`` (before pytest-timeout's limit), this writes to the
terminal, past pytest's output capture, what a data engineer would look at first: the Python stack
of every thread and, on the test server, every session that is not idle with what it waits for and
who blocks it. pytest-timeout (method ``thread``) then ends the run at its limit, so a stuck test
costs minutes, not the whole CI budget, and leaves its cause in the log.
"""

from __future__ import annotations

import faulthandler
import os
import threading

import pytest

WATCHDOG_SECONDS = float(os.environ.get("CREDIT_TEST_WATCHDOG_SECONDS", "480"))

_state: dict = {"fd": None, "server_url": None}


def watch_server(url: str) -> None:
    """Tell the watchdog which server the tests use (called by the ``server_url`` fixture)."""
    _state["server_url"] = url


def _sessions(url: str) -> str:
    import psycopg

    from credit_platform.warehouse.urls import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET statement_timeout = '10s'")
        rows = conn.execute(
            "SELECT pid, datname, usename, application_name, state, wait_event_type, wait_event,"
            " pg_blocking_pids(pid), now() - query_start, left(query, 300)"
            " FROM pg_stat_activity WHERE state IS DISTINCT FROM 'idle' AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' ORDER BY query_start"
        ).fetchall()
    lines = [f"  pid {r[0]} db {r[1]} user {r[2]} app {r[3]!r} state {r[4]} waits {r[5]}/{r[6]}"
             f" blocked by {r[7]} for {r[8]}: {r[9]!r}" for r in rows]  # fmt: skip
    return "\n".join(lines) or "  (no session is active)"


def _report(nodeid: str) -> None:
    fd = _state["fd"]
    if fd is None:
        return
    os.write(fd, f"\n=== watchdog: {nodeid} has run for {WATCHDOG_SECONDS:.0f} s ===\n".encode())
    url = _state["server_url"]
    if url:
        try:
            text = _sessions(url)
        except Exception as exc:  # noqa: BLE001 - a diagnosis must not fail the run
            text = f"  (could not read pg_stat_activity: {exc})"
        os.write(fd, f"sessions on the test server that are not idle:\n{text}\n".encode())
    os.write(fd, b"Python stacks:\n")
    faulthandler.dump_traceback(file=fd, all_threads=True)


def pytest_configure(config: pytest.Config) -> None:
    # A copy of the real stderr, taken before output capture, as pytest's faulthandler plugin does.
    _state["fd"] = os.dup(2)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    timer = threading.Timer(WATCHDOG_SECONDS, _report, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()

"""The ``credit-platform`` command line.

    credit-platform warehouse start      start the embedded server if needed, apply migrations
    credit-platform warehouse url        print the administrator URL (--role for a component's)
    credit-platform warehouse psql       open psql (--role to connect as a component)
    credit-platform warehouse migrate    apply pending migrations (--status to list them only)
    credit-platform warehouse status     say where the warehouse is and whether it is current
    credit-platform warehouse stop       stop the embedded server
    credit-platform warehouse recipient add|remove NAME   manage authorised recipients
    credit-platform airflow start|stop|status|env         the local Airflow 3 services
    credit-platform check                run the platform health checks as each role
    credit-platform dbt ARGS...          run dbt as the transformer role (e.g. dbt debug)
    credit-platform stop                 stop Airflow and the embedded server

Messages go to standard error; standard output carries only what a command is asked to print
(a URL, shell exports), so ``$(credit-platform warehouse url)`` works.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time

log = logging.getLogger("credit_platform")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _using_embedded() -> bool:
    return not os.environ.get("WAREHOUSE_URL", "").strip()


def setup_warehouse() -> str:
    """Start (if embedded), migrate, create Airflow's database and set role passwords. Returns the admin URL."""
    from credit_platform.warehouse import access, migrate
    from credit_platform.warehouse.roles import admin_url

    t0 = time.monotonic()
    url = admin_url()
    outcome = migrate.migrate(url)
    created = access.ensure_airflow_database(url)
    pw = access.set_passwords(url)
    where = "embedded server" if _using_embedded() else "WAREHOUSE_URL"
    _say(
        f"warehouse ready ({where}, {time.monotonic() - t0:.1f} s): "
        f"{len(outcome.applied)} migration(s) applied, {len(outcome.already)} already there"
        + ("; created Airflow's database" if created else "")
        + (f"; passwords set for {', '.join(pw)}" if pw else "")
    )
    return url


def cmd_warehouse(args: argparse.Namespace) -> int:
    from credit_platform.warehouse import access, embedded, migrate
    from credit_platform.warehouse.roles import admin_url, libpq_url, url_for

    if args.action == "start":
        setup_warehouse()
        return 0
    if args.action == "stop":
        if not _using_embedded():
            _say("WAREHOUSE_URL is set: that server is not ours to stop")
            return 0
        _say("embedded warehouse stopped" if embedded.stop() else "embedded warehouse was not running")
        return 0
    if args.action == "url":
        base = admin_url()
        print(libpq_url(url_for(args.role, base) if args.role else base))
        return 0
    if args.action == "psql":
        base = admin_url()
        url = libpq_url(url_for(args.role, base) if args.role else base)
        psql = embedded.psql_path()
        os.execv(psql, [psql, url, *args.rest])
    if args.action == "migrate":
        url = admin_url()
        if args.status:
            todo = migrate.pending(url)
            _say("pending: " + (", ".join(todo) if todo else "none"))
            return 1 if todo else 0
        setup_warehouse()
        return 0
    if args.action == "status":
        if _using_embedded():
            srv = embedded.status()
            if srv is None:
                _say(f"embedded warehouse: not running (data folder {embedded.paths().pgdata})")
                return 1
            _say(f"embedded warehouse: running on 127.0.0.1:{srv.port}, data in {srv.pgdata}")
        url = admin_url()
        todo = migrate.pending(url)
        _say("migrations: " + ("current" if not todo else "pending " + ", ".join(todo)))
        return 1 if todo else 0
    if args.action == "recipient":
        url = admin_url()
        if args.op == "add":
            name = access.add_recipient(url, args.name, os.environ.get("CREDIT_RECIPIENT_PASSWORD"))
            _say(f"authorised recipient role {name} is ready (member of credit_authorised)")
        else:
            _say(f"removed {access.remove_recipient(url, args.name)}")
        return 0
    raise AssertionError(args.action)


def cmd_airflow(args: argparse.Namespace) -> int:
    from credit_platform import services
    from credit_platform.airflow_env import airflow_env

    if args.action == "stop":
        stopped = services.stop()
        _say("stopped " + ", ".join(stopped) if stopped else "no Airflow service was running")
        return 0
    if args.action == "status":
        up = services.running()
        for s in services.SERVICES:
            _say(f"{s:14} {'running, pid ' + str(up[s]) if s in up else 'stopped'}")
        return 0 if len(up) == len(services.SERVICES) else 1
    base = setup_warehouse()
    env = airflow_env(base_url=base)
    if args.action == "env":
        for k, v in env.items():
            print(f"export {k}={shlex.quote(v)}")
        return 0
    if args.action == "start":
        t0 = time.monotonic()
        services.prepare(env)
        services.start(env)
        port = int(env["AIRFLOW__API__PORT"])
        try:
            services.wait_healthy(port, timeout=args.timeout)
        except (RuntimeError, TimeoutError) as exc:
            _say(f"Airflow did not become healthy: {exc}\nLogs: {services.paths().run}/*.log")
            return 1
        login = services.login_details(env)
        password = repr(login.password) if login.password else f"(see {login.source})"
        _say(
            f"\nAirflow is up after {time.monotonic() - t0:.0f} s: {login.url}\n"
            f"  log in as {login.username!r} with password {password}\n"
            f"  password file: {login.source}\n"
            f"  logs: {services.paths().run}/<service>.log\n"
            f"  stop with: make stop\n"
        )
        return 0
    raise AssertionError(args.action)


def cmd_check(args: argparse.Namespace) -> int:
    from credit_platform import health
    from credit_platform.warehouse.roles import admin_url, url_for

    base = admin_url()
    try:
        _say(f"migrations: {health.check_migrations(url_for('loader', base))}")
        _say(f"roles: {health.check_role_boundaries(lambda c: url_for(c, base))}")
    except health.HealthError as exc:
        _say(f"FAILED: {exc}")
        return 1
    _say("platform healthy")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from credit_platform.dbt_runner import run_dbt

    return run_dbt(args.rest or ["debug"]).returncode


def cmd_stop(args: argparse.Namespace) -> int:
    from credit_platform import services
    from credit_platform.warehouse import embedded

    stopped = services.stop()
    _say("Airflow: stopped " + ", ".join(stopped) if stopped else "Airflow: nothing running")
    if _using_embedded():
        _say("warehouse: stopped" if embedded.stop() else "warehouse: not running")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from credit_platform.warehouse.roles import ROLES

    p = argparse.ArgumentParser(
        prog="credit-platform",
        description="Credit grading platform (信用分级分类监管): warehouse, Airflow and checks.\n\n"
        + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    w = sub.add_parser("warehouse", help="the PostgreSQL warehouse")
    wsub = w.add_subparsers(dest="action", required=True)
    wsub.add_parser("start", help="start the embedded server if needed and apply migrations")
    wsub.add_parser("stop", help="stop the embedded server")
    wsub.add_parser("status", help="where the warehouse is and whether migrations are current")
    u = wsub.add_parser("url", help="print a connection URL")
    u.add_argument("--role", choices=sorted(ROLES), help="a component's URL instead of the administrator's")
    q = wsub.add_parser("psql", help="open psql on the warehouse")
    q.add_argument("--role", choices=sorted(ROLES))
    q.add_argument("rest", nargs=argparse.REMAINDER, help="further psql arguments")
    m = wsub.add_parser("migrate", help="apply pending migrations")
    m.add_argument("--status", action="store_true", help="only list pending migrations (exit 1 if any)")
    r = wsub.add_parser("recipient", help="authorised recipients (依授权公开)")
    r.add_argument("op", choices=["add", "remove"])
    r.add_argument("name", help="lower_snake name, e.g. huairen_rural_bank")
    w.set_defaults(func=cmd_warehouse)

    a = sub.add_parser("airflow", help="the local Airflow 3 services")
    a.add_argument("action", choices=["start", "stop", "status", "env"])
    a.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (start)")
    a.set_defaults(func=cmd_airflow)

    c = sub.add_parser("check", help="platform health checks, as each component role")
    c.set_defaults(func=cmd_check)
    d = sub.add_parser("dbt", help="run dbt as the transformer role")
    d.add_argument("rest", nargs=argparse.REMAINDER, help="dbt arguments, e.g. build --select marts")
    d.set_defaults(func=cmd_dbt)
    s = sub.add_parser("stop", help="stop Airflow and the embedded warehouse")
    s.set_defaults(func=cmd_stop)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    import psycopg

    try:
        return args.func(args)
    except (RuntimeError, ValueError, OSError, psycopg.Error) as exc:
        _say(f"error: {str(exc).strip()}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``credit-platform warehouse ...`` (start, stop, status, url, psql, migrate, rotate, recipient) and
``credit-platform health``."""

from __future__ import annotations

import argparse
import os

from credit_platform.cli.common import say, setup_warehouse, using_embedded


def _psql_connection(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment that carries it (PGPASSWORD): a command
    line is visible to every user of the machine (``ps``), a process's environment only to its owner."""
    from sqlalchemy.engine import make_url

    from credit_platform.warehouse.urls import libpq_url

    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return libpq_url(u.set(password=None)), env


def cmd_warehouse(args: argparse.Namespace) -> int:
    from credit_platform.warehouse import access, embedded, migrate
    from credit_platform.warehouse.roles import role
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    if args.action == "start":
        setup_warehouse()
        return 0
    if args.action == "stop":
        if not using_embedded():
            say("WAREHOUSE_URL is set: that server is not ours to stop")
            return 0
        say("embedded warehouse stopped" if embedded.stop() else "embedded warehouse was not running")
        return 0
    if args.action == "url":
        base = admin_url()
        print(libpq_url(url_for(args.role, base) if args.role else base))
        return 0
    if args.action == "psql":
        base = admin_url()
        url, env = _psql_connection(url_for(args.role, base) if args.role else base)
        psql = embedded.psql_path()
        rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
        os.execve(psql, [psql, url, *rest], env)
    if args.action == "migrate":
        url = admin_url()
        if args.status:
            todo = migrate.pending(url)
            say("pending: " + (", ".join(todo) if todo else "none"))
            return 1 if todo else 0
        setup_warehouse()
        return 0
    if args.action == "status":
        if using_embedded():
            srv = embedded.status()
            if srv is None:
                say(f"embedded warehouse: not running (data folder {embedded.paths().pgdata})")
                return 1
            say(f"embedded warehouse: running on 127.0.0.1:{srv.port}, data in {srv.pgdata}")
        url = admin_url()
        todo = migrate.pending(url)
        say("migrations: " + ("current" if not todo else "pending " + ", ".join(todo)))
        return 1 if todo else 0
    if args.action == "rotate":
        try:
            components = [role(c).component for c in args.component] or None
            access.check_rotation(components, on_embedded=using_embedded())  # before the server is started
            kept = access.rotate_passwords(admin_url(), components)
        except ValueError as exc:  # an unknown component, or a refusal (access.RotationRefused)
            say(str(exc))
            return 1
        for name, where in kept.items():
            say(f"new password for {name} (kept in {where})")
        say("sessions open now keep working until they close; restart what connects as these roles so that it "
            "reads the new passwords: `credit-platform airflow stop && credit-platform airflow start` here, "
            "`docker-compose up -d --force-recreate` in the deployment; then `credit-platform health`")
        return 0
    if args.action == "recipient":
        url = admin_url()
        if args.op == "add":
            name = access.add_recipient(url, args.name, os.environ.get("CREDIT_RECIPIENT_PASSWORD"))
            say(f"authorised recipient role {name} is ready (member of credit_authorised)")
        elif args.op == "authorise":
            try:
                done = access.authorise(url, args.name, args.uscc, valid_to=args.until, reference=args.reference)
            except ValueError as exc:
                say(f"not recorded: {exc}")
                return 1
            say(f"{done} authorisation(s) recorded for {args.name} (ops.recipient_authorisations)")
        else:
            say(f"removed {access.remove_recipient(url, args.name)}")
        return 0
    raise AssertionError(args.action)


def cmd_health(args: argparse.Namespace) -> int:
    from credit_platform.warehouse import health
    from credit_platform.warehouse.urls import admin_url, url_for

    base = admin_url()
    try:
        say(f"migrations: {health.check_migrations(url_for('loader', base))}")
        say(f"roles: {health.check_role_boundaries(lambda c: url_for(c, base))}")
    except health.HealthError as exc:
        say(f"FAILED: {exc}")
        return 1
    say("platform healthy")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from credit_platform.warehouse.roles import ROLES

    w = sub.add_parser("warehouse", help="the PostgreSQL warehouse")
    wsub = w.add_subparsers(dest="action", required=True)
    wsub.add_parser("start", help="start the embedded server if needed and apply migrations")
    wsub.add_parser("stop", help="stop the embedded server")
    wsub.add_parser("status", help="where the warehouse is and whether migrations are current")
    u = wsub.add_parser("url", help="print a connection URL (with its password: keep it private)")
    u.add_argument("--role", choices=sorted(ROLES), help="a component's URL instead of the administrator's")
    q = wsub.add_parser("psql", help="open psql on the warehouse")
    q.add_argument("--role", choices=sorted(ROLES))
    q.add_argument("rest", nargs=argparse.REMAINDER, help="further psql arguments")
    m = wsub.add_parser("migrate", help="apply pending migrations")
    m.add_argument("--status", action="store_true", help="only list pending migrations (exit 1 if any)")
    rot = wsub.add_parser("rotate", help="give component roles new passwords (all of them unless named)")
    rot.add_argument("component", nargs="*", metavar="COMPONENT",
                     help=f"one of {', '.join(sorted(ROLES))}; default all")
    r = wsub.add_parser("recipient", help="authorised recipients (依授权公开)")
    r.add_argument("op", choices=["add", "remove", "authorise"])
    r.add_argument("name", help="lower_snake name, e.g. huairen_rural_bank")
    r.add_argument("uscc", nargs="*", help="authorise: the subjects that authorised the recipient")
    r.add_argument("--until", help="authorise: last day the authorisation holds (YYYY-MM-DD; default open)")
    r.add_argument("--reference", help="authorise: the authorisation's document number (授权书编号)")
    w.set_defaults(func=cmd_warehouse)

    h = sub.add_parser("health", help="platform health checks, as each component role")
    h.set_defaults(func=cmd_health)

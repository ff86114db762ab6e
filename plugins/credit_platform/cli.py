"""The ``credit-platform`` command line.

    credit-platform warehouse start      start the embedded server if needed, apply migrations
    credit-platform warehouse url        print the administrator URL, password included (--role for a component's)
    credit-platform warehouse psql       open psql (--role to connect as a component)
    credit-platform warehouse migrate    apply pending migrations (--status to list them only)
    credit-platform warehouse status     say where the warehouse is and whether it is current
    credit-platform warehouse stop       stop the embedded server
    credit-platform warehouse recipient add|remove NAME   manage authorised recipients
    credit-platform warehouse recipient authorise NAME USCC...   subjects that authorised a recipient
    credit-platform airflow start|stop|status|env         the local Airflow 3 services
    credit-platform health               run the platform health checks as each role
    credit-platform check FILE...        check files before sending them (every problem, row and column)
    credit-platform what-if CATALOGUE    grade with a proposed indicator catalogue in scratch schemas, compare
    credit-platform dbt ARGS...          run dbt as the transformer role (e.g. dbt debug)
    credit-platform generate             write the demo city's files into the inbox
    credit-platform load PATH...         load inbox files into raw by hand, as the loader role
    credit-platform demo                 generate, run the whole DAG chain, print the summary
    credit-platform summary              the summary of what the chain produced
    credit-platform docs                 build the dbt docs site and serve it (--no-serve: build only)
    credit-platform bench                loader speed and memory (make bench)
    credit-platform publish              publish to the file-drop platforms, write the departments' workbooks
    credit-platform verify-draw PLAN_ID  recompute a past inspection draw and say whether it matches
    credit-platform overdue-results      inspection results past their publication deadline (一公开)
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
from pathlib import Path

log = logging.getLogger("credit_platform")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _using_embedded() -> bool:
    return not os.environ.get("WAREHOUSE_URL", "").strip()


def setup_warehouse() -> str:
    """Start (if embedded), migrate, create Airflow's database and set role passwords. Returns the admin URL."""
    from credit_platform.warehouse import access, migrate
    from credit_platform.warehouse.urls import admin_url

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
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

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
        url, env = _psql_connection(url_for(args.role, base) if args.role else base)
        psql = embedded.psql_path()
        os.execve(psql, [psql, url, *args.rest], env)
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
        elif args.op == "authorise":
            try:
                done = access.authorise(url, args.name, args.uscc, valid_to=args.until, reference=args.reference)
            except ValueError as exc:
                _say(f"not recorded: {exc}")
                return 1
            _say(f"{done} authorisation(s) recorded for {args.name} (ops.recipient_authorisations)")
        else:
            _say(f"removed {access.remove_recipient(url, args.name)}")
        return 0
    raise AssertionError(args.action)


def cmd_airflow(args: argparse.Namespace) -> int:
    from credit_platform.local import services
    from credit_platform.local.airflow_env import airflow_env

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


def cmd_check_file(args: argparse.Namespace) -> int:
    import json

    from credit_platform.ingest.check import check_file, render_text
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    url = libpq_url(url_for("loader", admin_url()))
    reports, worst = [], 0
    for i, file in enumerate(args.files):  # every file is checked, an unreadable one included
        report, status = check_file(url, Path(file), kind=args.kind, department=args.department)
        reports.append(report)
        worst = max(worst, status)
        if args.format == "text":
            print(("\n" if i else "") + render_text(report), flush=True)
    if args.format == "json":  # one file: its report; several: the list of them
        print(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False, indent=1))
    return worst


def cmd_health(args: argparse.Namespace) -> int:
    from credit_platform.warehouse import health
    from credit_platform.warehouse.urls import admin_url, url_for

    base = admin_url()
    try:
        _say(f"migrations: {health.check_migrations(url_for('loader', base))}")
        _say(f"roles: {health.check_role_boundaries(lambda c: url_for(c, base))}")
    except health.HealthError as exc:
        _say(f"FAILED: {exc}")
        return 1
    _say("platform healthy")
    return 0


def cmd_what_if(args: argparse.Namespace) -> int:
    from credit_platform.grading import whatif
    from credit_platform.warehouse.urls import admin_url

    outcome = whatif.run(admin_url(), Path(args.catalogue), period=args.period, keep=args.keep,
                         out=Path(args.out).resolve() if args.out else None)  # fmt: skip
    print(whatif.render_text(outcome))
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import run_dbt

    return run_dbt(args.rest or ["debug"]).returncode


def _demo_manifest() -> Path:
    from credit_platform.settings import paths

    return paths().data / "demo" / "manifest.json"


def generate_demo(seed: int, subjects: int, defect_rate: float, *, force: bool = False) -> dict:
    """Generate the demo files unless the inbox already holds this very generation."""
    import json

    from credit_platform.demo.generate import GENERATOR_VERSION, generate
    from credit_platform.settings import paths

    manifest = _demo_manifest()
    wanted = {"generator_version": GENERATOR_VERSION, "seed": seed, "subjects": subjects, "defect_rate": defect_rate}
    if not force and manifest.exists():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        inbox = paths().inbox
        if {k: old.get(k) for k in wanted} == wanted and all((inbox / f).exists() for f in old["files"]):
            _say(f"demo data for seed {seed} ({subjects} subjects) already in {inbox}; kept")
            return old
    t0 = time.monotonic()
    result = generate(paths().inbox, manifest, seed=seed, subjects=subjects, defect_rate=defect_rate)
    rows = sum(f["rows"] for f in result["files"].values())
    _say(f"generated {len(result['files'])} files, {rows} rows, into {paths().inbox} ({time.monotonic() - t0:.1f} s);"
         f" defect manifest {manifest}")  # fmt: skip
    return result


def cmd_generate(args: argparse.Namespace) -> int:
    generate_demo(args.seed, args.subjects, args.defect_rate, force=True)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from credit_platform.ingest.loader import discover, load_files
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    url = libpq_url(url_for("loader", admin_url()))
    inbox = paths().inbox
    files, refused = _inbox_paths(args.paths or discover(inbox), inbox)
    # Batches an earlier load left landed (stopped before its gate decided) are gated too.
    results, failures = load_files(url, files, inbox=inbox, finish="")
    for r in results:
        _say(f"{r.file}: {r.status}, {r.rows_in} read, {r.rows_loaded} loaded, {r.rows_rejected} rejected"
             + (f" {r.rejected_by_reason}" if r.rejected_by_reason else ""))  # fmt: skip
    for reason in refused:
        _say(f"已拒绝，未读取 / REFUSED, not read: {reason}")
    code = _report_load_failures(results, failures)
    return 2 if refused else code


def _inbox_paths(given: list[str], inbox: Path) -> tuple[list[str], list[str]]:
    """The inbox-relative paths to load, and the reasons for those refused (links, paths outside the inbox)."""
    from credit_platform.ingest.inbox import RefusedPath, check_in_inbox, relative_in_inbox

    files, refused = [], []
    for path in given:
        try:
            files.append(check_in_inbox(inbox, path))
        except RefusedPath as exc:
            refused.append(str(exc))
        except FileNotFoundError:
            files.append(relative_in_inbox(inbox, path))  # the loader says it is not there
    return files, refused


def _report_load_failures(results: list, failures: list[str]) -> int:
    """Each failure in Chinese and English; exit 2 when a file could not be read, 1 when one was quarantined."""
    quarantined = {r.quarantine_reason for r in results if r.status == "quarantined"}
    unreadable = [f for f in failures if f not in quarantined]
    for failure in unreadable:
        _say(f"无法读取，未装载 / FAILED, not loaded: {failure}\n"
             "  请修正或重新导出该文件后再装载 / correct or export the file again, then load it again")  # fmt: skip
    for reason in sorted(quarantined):
        _say(f"已隔离，不参与评价 / QUARANTINED, not graded: {reason}")
    return 2 if unreadable else 1 if quarantined else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import manifest_path, run_dbt
    from credit_platform.local import chain
    from credit_platform.local.airflow_env import airflow_env

    t0 = time.monotonic()
    base = setup_warehouse()
    if not manifest_path().exists():
        if run_dbt(["parse", "--quiet"], base_url=base).returncode != 0:
            _say("dbt parse failed")
            return 1
    generate_demo(args.seed, args.subjects, args.defect_rate)
    env = airflow_env(base_url=base)
    _say("running the DAG chain with `airflow dags test` (logs in .local/run/dags-test-<dag>.log) ...")

    def report(run):
        _say(f"  {run.dag_id:20} {'success' if run.success else 'FAILED':8} {run.seconds:6.1f} s")

    runs = chain.run_chain(env, on_done=report)
    ok = all(r.success for r in runs) and len(runs) == len(chain.DAG_ORDER)
    print("\n" + chain.summary(base))
    print(
        f"\n{'Done' if ok else 'FAILED'} in {time.monotonic() - t0:.0f} s."
        + ("" if ok else f" See {runs[-1].log}.")
        + "\nOpen the Airflow UI:  make airflow   (then http://127.0.0.1:8080)"
        + "\nQuery the warehouse:  make psql      (e.g. TABLE marts.fct_industry_credit_grades LIMIT 10;)"
    )
    return 0 if ok else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from credit_platform.local import chain
    from credit_platform.warehouse.urls import admin_url

    print(chain.summary(admin_url()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from credit_platform.local import bench
    from credit_platform.warehouse.urls import admin_url

    if args.draw_only:
        print(bench.draw(args.draw_subjects))
        return 0
    setup_warehouse()
    print(bench.run(admin_url(), rows=args.rows, small=args.small, with_pandas=not args.no_pandas,
                    rounds=args.rounds))
    print(bench.draw(args.draw_subjects))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from credit_platform.local import docs
    site = Path(args.site).resolve() if args.site else docs.site_dir()
    port = docs.docs_port() if args.port is None else args.port
    base = setup_warehouse()
    _say("generating the dbt docs (dbt docs generate, reading the warehouse's catalogue) ...")
    build = docs.build_site(base, site=site)
    _say(f"docs built in {build.seconds:.1f} s: {build.models} models, {build.seeds} seeds, {build.sources} sources,"
         f" {build.catalogued} tables and views catalogued, in {build.site}")  # fmt: skip
    if build.unbuilt_marts:
        _say(f"note: {len(build.unbuilt_marts)} marts are not built in the warehouse"
             f" ({', '.join(build.unbuilt_marts)}): their descriptions are there, their column types"
             " come from a built warehouse;"
             " run `make demo` (or `credit-platform dbt build`) first, then `make docs` again")  # fmt: skip
    if args.no_serve:
        print(build.site / "index.html")
        return 0
    server = docs.make_server(build.site, port)
    url = docs.server_url(server)
    _say(f"serving {build.site} on {url} (dbt docs: {url}dbt/index.html); Ctrl-C to stop")
    print(url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_close_period(args: argparse.Namespace) -> int:
    from credit_platform.grading.periods import PeriodError, close_period

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        c = close_period(libpq_url(admin_url()), args.period, requested_by=args.by, **(
            {"reason": args.reason} if args.reason else {}))  # fmt: skip
    except PeriodError as exc:
        _say(f"not closed: {exc}")
        return 1
    _say(f"{c.evaluation_period} closed at {c.cutoff_at:%Y-%m-%d %H:%M:%S %Z} under rule version {c.rule_version}:"
         " batches loaded from now on are late for it (marts.fct_late_records)")  # fmt: skip
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.grading.periods import PeriodError, regrade

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        c = regrade(libpq_url(admin_url()), args.period, requested_by=args.by, reason=args.reason,
                    rule_version=args.rule_version)  # fmt: skip
    except PeriodError as exc:
        _say(f"not re-graded: {exc}")
        return 1
    _say(f"re-grading {c.evaluation_period} (recorded in ops.period_closures): data until"
         f" {c.cutoff_at:%Y-%m-%d %H:%M:%S %Z}, rule version {c.rule_version}")  # fmt: skip
    if args.no_build:
        return 0
    return run_dbt(["build"]).returncode


def cmd_rebuild(args: argparse.Namespace) -> int:
    from credit_platform.grading.periods import PeriodError, rebuild

    if not args.yes:
        _say("rebuild empties raw and drops every table of staging, intermediate and marts, then lands every"
             " archived batch again and runs dbt; say --yes to go on")  # fmt: skip
        return 2
    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        r = rebuild(libpq_url(admin_url()))
    except PeriodError as exc:
        _say(f"rebuild failed: {exc}")
        return 1
    _say(f"rebuilt from the archive: {r.batches} batches, {r.rows_loaded} rows loaded, {r.rows_rejected} rejected;"
         f" reset {r.seconds_reset:.1f} s, landing {r.seconds_landing:.1f} s, dbt {r.seconds_dbt:.1f} s")  # fmt: skip
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from credit_platform.grading.explain import NotGraded, explain

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url, url_for

    try:
        # the transformer reads marts and the raw rows and load batches they name
        print(explain(libpq_url(url_for("transformer", admin_url())), args.uscc.strip().upper(), industry=args.industry,
                      period=args.period))  # fmt: skip
    except NotGraded as exc:
        _say(str(exc))
        return 1
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from credit_platform.quality.drift import release

    setup_warehouse()
    from credit_platform.warehouse.urls import admin_url, libpq_url

    try:
        approval = release(libpq_url(admin_url()), args.period, reason=args.reason, approved_by=args.by)
    except ValueError as exc:
        _say(f"not released: {exc}")
        return 1
    _say(f"{args.period} released for publication (ops.publication_approvals #{approval}); run publish_grades")
    return 0


def cmd_verify_draw(args: argparse.Namespace) -> int:
    """Recompute a past draw from the warehouse (as the analyst) and compare it with the stored tasks."""
    import json

    from credit_platform.inspection import draw as inspection
    from credit_platform.warehouse.urls import url_for

    url = url_for("analyst", setup_warehouse())
    try:
        record = inspection.audit_record(url, args.plan_id)
    except LookupError as exc:
        _say(str(exc))
        return 2
    if args.export:
        Path(args.export).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        _say(f"wrote {args.export}: check it with plugins/credit_platform/inspection/reference/verify_draw.py")
    problems = inspection.verify_record(record)
    for p in problems:
        _say(f"MISMATCH {p}")
    _say(f"{args.plan_id}: {'MATCH' if not problems else 'MISMATCH'} ({record['algorithm_version']})")
    return 1 if problems else 0


def cmd_overdue_results(args: argparse.Namespace) -> int:
    """List the returned results of public plans not acknowledged by the city platform in time (as the analyst)."""
    import datetime as dt

    from credit_platform.inspection import lists as inspection_lists
    from credit_platform.publish.config import load
    from credit_platform.warehouse.urls import libpq_url, url_for

    today = dt.date.fromisoformat(args.today) if args.today else None
    late = inspection_lists.overdue(libpq_url(url_for("analyst", setup_warehouse())), today=today)
    columns = load().export_headers("overdue_results")  # field of Overdue -> header
    print("\t".join(columns.values()))
    for o in late:
        print("\t".join(str(getattr(o, c)) for c in columns))
    _say(f"{len(late)} inspection result(s) past their publication deadline")
    return 1 if late else 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish by hand, as the publisher: the file-drop platforms and the departments' workbooks."""
    import datetime as dt

    from credit_platform.publish import PublicationBlocked, PublicationFailed, publish, workbooks
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url, url_for

    url = url_for("publisher", setup_warehouse())
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    try:
        report = publish(url, as_of=as_of)
    except PublicationBlocked as exc:
        _say(f"nothing published: {exc}")
        return 1
    except PublicationFailed as exc:
        _say(str(exc))
        return 1
    _say(report.summary())
    for wb in workbooks.write(libpq_url(url), paths().outbox):
        _say(f"  department {wb.department_code:6} {wb.rows:>6} rows {wb.status}: {wb.path}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from credit_platform.local import services
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
    u = wsub.add_parser("url", help="print a connection URL (with its password: keep it private)")
    u.add_argument("--role", choices=sorted(ROLES), help="a component's URL instead of the administrator's")
    q = wsub.add_parser("psql", help="open psql on the warehouse")
    q.add_argument("--role", choices=sorted(ROLES))
    q.add_argument("rest", nargs=argparse.REMAINDER, help="further psql arguments")
    m = wsub.add_parser("migrate", help="apply pending migrations")
    m.add_argument("--status", action="store_true", help="only list pending migrations (exit 1 if any)")
    r = wsub.add_parser("recipient", help="authorised recipients (依授权公开)")
    r.add_argument("op", choices=["add", "remove", "authorise"])
    r.add_argument("name", help="lower_snake name, e.g. huairen_rural_bank")
    r.add_argument("uscc", nargs="*", help="authorise: the subjects that authorised the recipient")
    r.add_argument("--until", help="authorise: last day the authorisation holds (YYYY-MM-DD; default open)")
    r.add_argument("--reference", help="authorise: the authorisation's document number (授权书编号)")
    w.set_defaults(func=cmd_warehouse)

    a = sub.add_parser("airflow", help="the local Airflow 3 services")
    a.add_argument("action", choices=["start", "stop", "status", "env"])
    a.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (start)")
    a.set_defaults(func=cmd_airflow)

    h = sub.add_parser("health", help="platform health checks, as each component role")
    h.set_defaults(func=cmd_health)
    c = sub.add_parser("check", help="check files before sending them: each problem with its row and column")
    c.add_argument("files", nargs="+", metavar="FILE", help="one or more files; the exit status is the worst of them")
    c.add_argument("--kind", help="the source (e.g. penalty, province_evaluation); guessed from the file name")
    c.add_argument("--department", help="department code (default: from a departments/<code>/ folder)")
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.set_defaults(func=cmd_check_file)
    wi = sub.add_parser("what-if", help="grade with a proposed indicator catalogue in scratch schemas and compare")
    wi.add_argument("catalogue", help="a CSV with the columns of dbt_project/seeds/indicator_catalogue.csv")
    wi.add_argument("--period", help="evaluation period to compare (default: the latest graded)")
    wi.add_argument("--out", help="CSV of the subjects whose class changes"
                    " (default: .local/whatif/changed_subjects_<period>.csv)")  # fmt: skip
    wi.add_argument("--keep", action="store_true",
                    help="keep the whatif_* schemas for querying (replaced by the next run)")  # fmt: skip
    wi.set_defaults(func=cmd_what_if)
    d = sub.add_parser("dbt", help="run dbt as the transformer role")
    d.add_argument("rest", nargs=argparse.REMAINDER, help="dbt arguments, e.g. build --select marts")
    d.set_defaults(func=cmd_dbt)
    city = argparse.ArgumentParser(add_help=False)  # the generated city, for generate and demo
    city.add_argument("--seed", type=int, default=42)
    city.add_argument("--subjects", type=int, default=30000)
    city.add_argument("--defect-rate", type=float, default=0.02)
    g = sub.add_parser("generate", parents=[city], help="write the demo city's files into the inbox ($CREDIT_INBOX)")
    g.set_defaults(func=cmd_generate)
    ld = sub.add_parser("load", help="load inbox files into raw by hand, as the loader role")
    ld.add_argument("paths", nargs="*", help="inbox-relative or absolute paths (default: every file in the inbox)")
    ld.set_defaults(func=cmd_load)
    dm = sub.add_parser("demo", parents=[city], help="generate the demo city and run the whole DAG chain")
    dm.set_defaults(func=cmd_demo)
    sm = sub.add_parser("summary", help="what the chain produced")
    sm.set_defaults(func=cmd_summary)
    b = sub.add_parser("bench", help="loader speed and memory against raw COPY and pandas (make bench)")
    b.add_argument("--rows", type=int, default=1_000_000)
    b.add_argument("--small", type=int, default=100_000, help="the smaller file for the memory comparison")
    b.add_argument("--no-pandas", action="store_true", help="skip the (slow) pandas measurement")
    b.add_argument("--rounds", type=int, default=3, help="rounds of raw COPY and our load; the best of each counts")
    b.add_argument("--draw-subjects", type=int, default=1_000_000, help="subjects of the inspection draw benchmark")
    b.add_argument("--draw-only", action="store_true", help="only the inspection draw benchmark (no warehouse)")
    b.set_defaults(func=cmd_bench)
    dc = sub.add_parser("docs", help="build the dbt docs site and serve it on 127.0.0.1 (make docs)")
    dc.add_argument("--port", type=int, help="port to serve on (default: $CREDIT_DOCS_PORT or 8081)")
    dc.add_argument("--site", help="the site folder (default: $CREDIT_LOCAL_DIR/docs)")
    dc.add_argument("--no-serve", action="store_true", help="build the site only and print its index page")
    dc.set_defaults(func=cmd_docs)
    ex = sub.add_parser("explain", help="why a subject has its grades: every indicator, rule and record behind them")
    ex.add_argument("uscc")
    ex.add_argument("--industry", help="one industry (default: every industry it is graded in)")
    ex.add_argument("--period", help="the evaluation period (default: the latest)")
    ex.set_defaults(func=cmd_explain)
    cp = sub.add_parser("close-period", help="close an ended evaluation period: its grades keep the data loaded so far")
    cp.add_argument("period")
    cp.add_argument("--by", required=True, help="who closes it (kept in ops.period_closures)")
    cp.add_argument("--reason", help="why (default: the period ended)")
    cp.set_defaults(func=cmd_close_period)
    rg = sub.add_parser("regrade", help="re-grade a closed period with the records that arrived late (logged)")
    rg.add_argument("period")
    rg.add_argument("--reason", required=True)
    rg.add_argument("--by", required=True, help="who asks for it")
    rg.add_argument("--rule-version", help="grade under another rule version (default: the one it was closed with)")
    rg.add_argument("--no-build", action="store_true",
                    help="record the re-grading only; the next grading run applies it")
    rg.set_defaults(func=cmd_regrade)
    rb = sub.add_parser("rebuild",
                        help="rebuild raw through marts from $CREDIT_ARCHIVE alone (closed periods reproduce)")
    rb.add_argument("--yes", action="store_true", help="really empty raw and drop the dbt tables first")
    rb.set_defaults(func=cmd_rebuild)
    rl = sub.add_parser("release", help="release a period whose grades drifted beyond the PSI threshold (logged)")
    rl.add_argument("period")
    rl.add_argument("--reason", required=True)
    rl.add_argument("--by", required=True, help="who releases it")
    rl.set_defaults(func=cmd_release)
    vd = sub.add_parser("verify-draw", help="recompute a past inspection draw and say whether it matches")
    vd.add_argument("plan_id", help="e.g. 2025-H2-scjgj-scjgj-food-01: <round>-<department>-<matter>"
                                    " (ops.inspection_plans)")
    vd.add_argument("--export", help="also write the plan, populations and draw as JSON for the reference script")
    vd.set_defaults(func=cmd_verify_draw)
    od = sub.add_parser("overdue-results", help="inspection results past their publication deadline (一公开)")
    od.add_argument("--today", help="count the deadline up to this day (YYYY-MM-DD; default today)")
    od.set_defaults(func=cmd_overdue_results)
    pb = sub.add_parser("publish", help="publish to the file-drop platforms and write the departments' workbooks")
    pb.add_argument("--as-of", help="the day whose publication windows apply (YYYY-MM-DD; default today)")
    pb.set_defaults(func=cmd_publish)
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

"""Commands for running the platform on one machine: ``airflow``, ``generate``, ``demo``, ``summary``,
``bench``, ``docs``, ``screenshot`` and ``stop``."""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from credit_platform.cli.common import say, setup_warehouse, using_embedded


def cmd_airflow(args: argparse.Namespace) -> int:
    from credit_platform.local import services
    from credit_platform.local.airflow_env import airflow_env

    if args.action == "stop":
        stopped = services.stop()
        say("stopped " + ", ".join(stopped) if stopped else "no Airflow service was running")
        return 0
    if args.action == "status":
        up = services.running()
        for s in services.SERVICES:
            say(f"{s:14} {'running, pid ' + str(up[s]) if s in up else 'stopped'}")
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
        running = env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "false"
        if running:  # the DAGs run on their schedules and assets (dags/README.md)
            services.unpause_all(env)
        services.start(env)
        port = int(env["AIRFLOW__API__PORT"])
        try:
            services.wait_healthy(port, timeout=args.timeout)
        except (RuntimeError, TimeoutError) as exc:
            say(f"Airflow did not become healthy: {exc}\nLogs: {services.paths().run}/*.log")
            return 1
        login = services.login_details(env)
        password = repr(login.password) if login.password else f"(see {login.source})"
        tz = env["AIRFLOW__CORE__DEFAULT_TIMEZONE"]
        dags = ("every DAG is unpaused: the ingests run hourly, platform_health daily, the rest on their assets"
                if running else "DAGs start paused (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION is set):"
                " unpause them in the UI")
        say(
            f"\nAirflow is up after {time.monotonic() - t0:.0f} s: {login.url}\n"
            f"  log in as {login.username!r} with password {password}\n"
            f"  password file: {login.source}\n"
            f"  {dags}; schedules in {tz} (the UI shows the browser's time zone: pick {tz} in its user menu"
            f" if yours differs)\n"
            f"  service logs: {services.paths().run}/<service>.log;"
            f" task logs: in the UI and {env['AIRFLOW__LOGGING__BASE_LOG_FOLDER']}\n"
            f"  stop with: make stop\n"
        )
        return 0
    raise AssertionError(args.action)


def services_run_dir() -> Path:
    from credit_platform.settings import paths

    return paths().run


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
            say(f"demo data for seed {seed} ({subjects} subjects) already in {inbox}; kept")
            return old
    t0 = time.monotonic()
    result = generate(paths().inbox, manifest, seed=seed, subjects=subjects, defect_rate=defect_rate)
    rows = sum(f["rows"] for f in result["files"].values())
    say(f"generated {len(result['files'])} files, {rows} rows, into {paths().inbox} ({time.monotonic() - t0:.1f} s);"
         f" defect manifest {manifest}")  # fmt: skip
    return result


def cmd_generate(args: argparse.Namespace) -> int:
    generate_demo(args.seed, args.subjects, args.defect_rate, force=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from credit_platform.grading.dbt_runner import manifest_path, run_dbt
    from credit_platform.local import chain
    from credit_platform.local.airflow_env import airflow_env

    t0 = time.monotonic()
    base = setup_warehouse()
    if not manifest_path().exists():
        if run_dbt(["parse", "--quiet"], base_url=base).returncode != 0:
            say("dbt parse failed")
            return 1
    generate_demo(args.seed, args.subjects, args.defect_rate)
    env = airflow_env(base_url=base)
    say("running the DAG chain with `airflow dags test` (logs in .local/run/dags-test-<dag>.log) ...")

    def report(run):
        say(f"  {run.dag_id:20} {'success' if run.success else 'FAILED':8} {run.seconds:6.1f} s"
            f"  ({len(run.task_logs)} task logs)")
        if run.dag_id == "grade_industries" and run.success:  # before publication: the 信用+ partners
            from credit_platform.local.reports import authorise_partners

            partners = authorise_partners(base)
            say(f"  {len(partners.recipients)} 信用+ partners ({', '.join(partners.recipients)}) authorised by"
                f" {partners.authorisations} subjects in all (warehouse recipient authorise)")  # fmt: skip

    runs = chain.run_chain(env, on_done=report, base_url=base)
    ok = all(r.success for r in runs) and len(runs) == len(chain.DAG_ORDER)
    if ok:
        from credit_platform.local.reports import report_cases, report_commitments, report_measures

        t1 = time.monotonic()
        reported = report_measures(base)
        say(f"  departments reported {reported.records} measures applied, {reported.mistakes} of them not applicable,"
            f" in {len(reported.files)} files ({time.monotonic() - t1:.1f} s; 信用监管执行信息)")  # fmt: skip
        t1 = time.monotonic()
        c = report_commitments(base)
        say(f"  {c.department} wrote {c.letters} commitment letters ({c.pdfs} PDF, {c.folder}); {c.signed} came back"
            f" signed, {c.consenting} consenting to publication; {c.withdrawn} consent withdrawn"
            f" ({time.monotonic() - t1:.1f} s; 信用承诺)")  # fmt: skip
        t1 = time.monotonic()
        k = report_cases(base)
        say(f"  departments received {k.objections} objections and {k.repairs} repair applications, took {k.steps}"
            f" steps on them and wrote {k.answers} answer letters; {k.overdue} are overdue"
            f" ({time.monotonic() - t1:.1f} s; 异议、信用修复)")  # fmt: skip
    print("\n" + chain.summary(base))
    print(
        f"\n{'Done' if ok else 'FAILED'} in {time.monotonic() - t0:.0f} s."
        + ("" if ok else f" See {runs[-1].log}.")
        + "\nOpen the Airflow UI:  make airflow   (then http://127.0.0.1:8080)"
        + f"\nTask logs:            in the UI (each run of each DAG, a task's Logs tab), files under"
          f" {env['AIRFLOW__LOGGING__BASE_LOG_FOLDER']}; each DAG run's whole output in"
          f" {services_run_dir()}/dags-test-<dag>.log"
        + "\nQuery the warehouse:  make psql      (e.g. TABLE marts.fct_industry_credit_grades LIMIT 10;)"
    )
    return 0 if ok else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from credit_platform.local import chain
    from credit_platform.warehouse.urls import admin_url

    print(chain.summary(admin_url()))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from credit_platform.bench import chain
    from credit_platform.bench import loader as bench_loader
    from credit_platform.warehouse.urls import admin_url

    if args.what == "draw":
        print(bench_loader.draw(args.draw_subjects))
        return 0
    if args.compare:
        print(chain.compare(*args.compare))
        return 0
    setup_warehouse()
    if args.what == "loader":
        print(bench_loader.run(admin_url(), rows=args.rows, small=args.small, with_pandas=not args.no_pandas,
                               rounds=args.rounds))  # fmt: skip
        print(bench_loader.draw(args.draw_subjects))
        return 0
    try:
        subjects = args.subjects or chain.scale()
    except ValueError as exc:
        say(str(exc))
        return 2
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    unknown = sorted(set(only or []) - set(chain.ORDER))
    if unknown:
        say(f"unknown stage(s) {', '.join(unknown)}; the stages: {', '.join(chain.ORDER)}")
        return 2
    say(f"the whole chain at {subjects:,} subjects (BENCH_SCALE), each stage in its own process ...")
    stages = chain.run(admin_url(), subjects, keep=args.keep or bool(only), only=only, say=say)
    print(chain.table(stages, subjects))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from credit_platform.local import docs
    site = Path(args.site).resolve() if args.site else docs.site_dir()
    port = docs.docs_port() if args.port is None else args.port
    base = setup_warehouse()
    say("generating the dbt docs (dbt docs generate, reading the warehouse's catalogue) ...")
    build = docs.build_site(base, site=site)
    say(f"docs built in {build.seconds:.1f} s: {build.models} models, {build.seeds} seeds, {build.sources} sources,"
         f" {build.catalogued} tables and views catalogued, in {build.site}")  # fmt: skip
    if build.unbuilt_marts:
        say(f"note: {len(build.unbuilt_marts)} marts are not built in the warehouse"
             f" ({', '.join(build.unbuilt_marts)}): their descriptions are there, their column types"
             " come from a built warehouse;"
             " run `make demo` (or `credit-platform dbt build`) first, then `make docs` again")  # fmt: skip
    if args.no_serve:
        print(build.site / "index.html")
        return 0
    server = docs.make_server(build.site, port)
    url = docs.server_url(server)
    say(f"serving {build.site} on {url} (dbt docs: {url}dbt/index.html); Ctrl-C to stop")
    print(url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    import psycopg

    from credit_platform.local import screenshot, services
    from credit_platform.local.airflow_env import airflow_env
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url

    base = setup_warehouse()
    with psycopg.connect(libpq_url(base)) as conn:
        graded = conn.execute("SELECT to_regclass('marts.fct_industry_credit_grades') IS NOT NULL").fetchone()[0] and \
            conn.execute("SELECT EXISTS (SELECT FROM marts.fct_industry_credit_grades)").fetchone()[0]  # fmt: skip
    if not graded:
        say("the warehouse holds no grades yet: run `make demo` first, then `make screenshot`"
            " / 尚无评价结果，请先运行 make demo")
        return 1
    try:
        screenshot.chromium_path()
    except RuntimeError as exc:
        say(str(exc))
        return 1
    env = airflow_env(base_url=base)
    services.prepare(env)  # Airflow's metadata database migrated, as `make airflow` does
    folder = Path(args.out).resolve() if args.out else paths().local / "screenshots"
    say(f"starting Airflow's API server alone and opening the view in {screenshot.chromium_path()} ...")
    try:
        shots = screenshot.take(env, folder)
    except RuntimeError as exc:
        say(f"screenshot failed: {exc}")
        return 1
    for f in shots.files:
        print(f)
    say("page load times: " + ", ".join(f"{k} {v:.2f} s" for k, v in shots.seconds.items()))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from credit_platform.local import services
    from credit_platform.warehouse import embedded

    stopped = services.stop()
    say("Airflow: stopped " + ", ".join(stopped) if stopped else "Airflow: nothing running")
    if using_embedded():
        say("warehouse: stopped" if embedded.stop() else "warehouse: not running")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("airflow", help="the local Airflow 3 services")
    a.add_argument("action", choices=["start", "stop", "status", "env"])
    a.add_argument("--timeout", type=float, default=180, help="seconds to wait for health (start)")
    a.set_defaults(func=cmd_airflow)

    city = argparse.ArgumentParser(add_help=False)  # the generated city, for generate and demo
    city.add_argument("--seed", type=int, default=42)
    city.add_argument("--subjects", type=int, default=30000)
    city.add_argument("--defect-rate", type=float, default=0.02)
    g = sub.add_parser("generate", parents=[city], help="write the demo city's files into the inbox ($CREDIT_INBOX)")
    g.set_defaults(func=cmd_generate)
    dm = sub.add_parser("demo", parents=[city], help="generate the demo city and run the whole DAG chain")
    dm.set_defaults(func=cmd_demo)
    sm = sub.add_parser("summary", help="what the chain produced")
    sm.set_defaults(func=cmd_summary)
    b = sub.add_parser("bench", help="the whole chain stage by stage against each stage's limit (make bench);"
                                     " loader: the loader against raw COPY and pandas; draw: the draw alone")
    b.add_argument("what", nargs="?", choices=["chain", "loader", "draw"], default="chain")
    b.add_argument("--subjects", type=int, help="the city's size (default: $BENCH_SCALE, else 100000)")
    b.add_argument("--keep", action="store_true", help="keep the benchmark's database (credit_bench_chain)")
    b.add_argument("--only", help="these stages (comma-separated) again, on the database a kept run left")
    b.add_argument("--compare", nargs=2, type=int, metavar=("SMALL", "LARGE"),
                   help="the growth per stage between two earlier runs (subjects)")
    b.add_argument("--rows", type=int, default=1_000_000)
    b.add_argument("--small", type=int, default=100_000, help="the smaller file for the memory comparison")
    b.add_argument("--no-pandas", action="store_true", help="skip the (slow) pandas measurement")
    b.add_argument("--rounds", type=int, default=3, help="rounds of raw COPY and our load; the best of each counts")
    b.add_argument("--draw-subjects", type=int, default=1_000_000, help="subjects of the inspection draw benchmark")
    b.set_defaults(func=cmd_bench)
    dc = sub.add_parser("docs", help="build the dbt docs site and serve it on 127.0.0.1 (make docs)")
    dc.add_argument("--port", type=int, help="port to serve on (default: $CREDIT_DOCS_PORT or 8081)")
    dc.add_argument("--site", help="the site folder (default: $CREDIT_LOCAL_DIR/docs)")
    dc.add_argument("--no-serve", action="store_true", help="build the site only and print its index page")
    dc.set_defaults(func=cmd_docs)
    sc = sub.add_parser("screenshot", help="PNGs of the supervision view in headless Chromium (make screenshot)")
    sc.add_argument("--out", help="the folder for the PNGs (default: $CREDIT_LOCAL_DIR/screenshots)")
    sc.set_defaults(func=cmd_screenshot)
    s = sub.add_parser("stop", help="stop Airflow and the embedded warehouse")
    s.set_defaults(func=cmd_stop)

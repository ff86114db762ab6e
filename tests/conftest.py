"""Shared fixtures. Integration tests run against a real PostgreSQL: ``WAREHOUSE_URL`` when set,
otherwise the project's embedded server (started on demand). Each test session works in a fresh
database created for it, migrated from scratch, and dropped at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Airflow reads these at import: keep in-process Airflow (DagBag in the DAG tests) inside the project.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".local" / "airflow-tests"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("DO_NOT_TRACK", "1")
# `make test` runs the tests in two processes (pytest-xdist, a file each at a time): each writes a
# dbt target folder of its own, so that two dbt runs on the checkout's project never write the same
# files (the grading DAG reads dbt_project/target/manifest.json, which stays as `make` compiled it).
if os.environ.get("PYTEST_XDIST_WORKER"):
    import shutil as _shutil

    _target = ROOT / ".local" / "dbt-target" / os.environ["PYTEST_XDIST_WORKER"]
    _target.mkdir(parents=True, exist_ok=True)
    if (ROOT / "dbt_project" / "target" / "partial_parse.msgpack").exists():  # spares each a full parse
        _shutil.copy2(ROOT / "dbt_project" / "target" / "partial_parse.msgpack", _target / "partial_parse.msgpack")
    os.environ["DBT_TARGET_PATH"] = str(_target)
# In-process Airflow (the DagBag of the DAG tests) needs no metadata database; point it at one
# that cannot answer rather than at Airflow's SQLite default. Tests that run Airflow for real
# give it a PostgreSQL database of its own (fixture airflow_test_env).
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://nobody@127.0.0.1:9/none")

import pytest  # noqa: E402
import stuck_tests  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from stuck_tests import pytest_runtest_protocol, watch_server  # noqa: E402, F401 - hooks

from credit_platform.warehouse import access, migrate  # noqa: E402
from credit_platform.warehouse.urls import admin_url, render, url_for  # noqa: E402

# The longest test files, longest first: under xdist each process takes the next file when it is
# free, so these start first and no process is left with a long file while the other has finished
# (xdist's own order, the files with the most tests first, is turned off in pytest_configure).
LONGEST_FIRST = ["test_celery_worker.py", "test_demo_chain.py", "test_runbooks.py", "test_reproducible_grades.py",
                 "test_record_keys.py", "test_ingest_dags.py", "test_publication.py", "test_raw_gate.py",
                 "test_inspections.py", "test_whatif.py", "test_airflow.py", "test_quality_gates.py",
                 "test_grading_properties.py", "test_docs_site.py"]


def pytest_configure(config):
    stuck_tests.pytest_configure(config)
    if hasattr(config.option, "loadscopereorder"):  # xdist would start the files with the most tests first
        config.option.loadscopereorder = False
    _run_tag()  # set in the controller before the xdist processes start, so they inherit it


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the same order in every process, as xdist requires
        rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture
def own_local(project_root):
    """A local folder for a server of its own, under the checkout's .local: pytest's shared temporary
    root is reset to 0700 whenever another pytest starts, which shuts the server's system user out."""
    import shutil
    import tempfile

    (project_root / ".local").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="test-local-", dir=project_root / ".local"))
    os.chmod(folder, 0o755)
    yield folder / "local"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url() -> str:
    """Administrator URL of the server the tests use (its default database).

    A test run that was killed can leave its statements running on a shared server (PostgreSQL
    goes on with a query until it next writes to the vanished client); they would take a core
    from this run. Statements in test databases running for over 20 minutes (no test runs one
    that long) are ended first."""
    import psycopg

    from credit_platform.warehouse.urls import libpq_url

    url = admin_url()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname LIKE 'credit\\_test\\_%'"
            " AND state = 'active' AND query_start < now() - interval '20 minutes' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    if ended:
        import warnings

        warnings.warn(f"ended {ended} statement(s) left running by an earlier test run", stacklevel=1)
    watch_server(url)
    return url


def _scratch_db(server_url: str, label: str) -> tuple[str, str]:
    name = f"credit_test_{label}_{uuid.uuid4().hex[:8]}"
    access.create_database(server_url, name)
    return name, render(make_url(server_url).set(database=name))


@pytest.fixture(scope="session")
def warehouse(server_url: str) -> Iterator[str]:
    """Administrator URL of a database made for this session and migrated from scratch."""
    name, url = _scratch_db(server_url, "wh")
    outcome = migrate.migrate(url)
    assert outcome.applied, "a fresh database must get every migration"
    yield url
    access.drop_database(server_url, name)


@pytest.fixture(scope="session")
def migrated_database(server_url: str) -> Callable[[str], AbstractContextManager[str]]:
    """``with migrated_database("label") as url:`` a fresh database migrated from scratch, dropped after."""

    @contextmanager
    def make(label: str) -> Iterator[str]:
        name, url = _scratch_db(server_url, label)
        migrate.migrate(url)
        try:
            yield url
        finally:
            access.drop_database(server_url, name)

    return make


#: The generated city every ``graded_city`` copies: loaded and graded once per test run. The second
#: server's pass (`make test`) asks for a smaller one: its tests check what the server does, not sizes.
CITY_SUBJECTS, CITY_SEED = int(os.environ.get("CREDIT_TEST_CITY_SUBJECTS", "1500")), 7


def _run_tag() -> str:
    """The test run's tag, the same in every xdist process (the controller sets it before they start)."""
    return os.environ.setdefault("CREDIT_TEST_RUN", uuid.uuid4().hex[:8])


def _city_home() -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / f"credit-test-city-{_run_tag()}"


def _city_template() -> str:
    return f"credit_test_city_template_{_run_tag()}"


def pytest_sessionfinish(session, exitstatus):
    """The controller (or the only process) drops the run's graded city once every process is done."""
    if hasattr(session.config, "workerinput") or not _city_home().exists():
        return
    import shutil

    access.drop_database(admin_url(), _city_template())
    shutil.rmtree(_city_home(), ignore_errors=True)
    Path(f"{_city_home()}.lock").unlink(missing_ok=True)


def copy_database(server_url: str, template: str, label: str) -> tuple[str, str]:
    """A new database made from ``template`` (which nobody may be connected to), with the template's
    database-level privileges: ``CREATE DATABASE ... TEMPLATE`` copies the contents, not the ACL."""
    import psycopg
    from psycopg import sql

    from credit_platform.warehouse.urls import libpq_url

    name = f"credit_test_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        grants = conn.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type"
            " FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = %s", (template,)).fetchall()  # fmt: skip
        for grantee, privilege in grants:
            conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                sql.SQL(privilege), sql.Identifier(name),
                sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)))  # fmt: skip
    return name, render(make_url(server_url).set(database=name))


def _build_city(server_url: str, home: Path) -> None:
    """Generate the city into ``home/inbox``, load it through the loader (archive and ledger in
    ``home/archive``) and grade it with dbt from ``home/dbt_project``, in the template database."""
    import shutil

    import psycopg

    from credit_platform.demo.generate import generate
    from credit_platform.grading.dbt_runner import run_dbt
    from credit_platform.ingest.loader import discover, load_files
    from credit_platform.settings import paths
    from credit_platform.warehouse.urls import libpq_url

    inbox, archive, project = home / "inbox", home / "archive", home / "dbt_project"
    for part in (inbox, archive, project):  # what a process that failed half-way left
        shutil.rmtree(part, ignore_errors=True)
    access.drop_database(server_url, _city_template())
    shutil.copytree(paths().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs"))
    generate(inbox, home / "manifest.json", seed=CITY_SEED, subjects=CITY_SUBJECTS, defect_rate=0.02)
    access.create_database(server_url, _city_template())
    url = render(make_url(server_url).set(database=_city_template()))
    migrate.migrate(url)
    mp = pytest.MonkeyPatch()
    mp.setenv("CREDIT_INBOX", str(inbox))
    mp.setenv("CREDIT_ARCHIVE", str(archive))
    try:
        _results, failures = load_files(libpq_url(url_for("loader", url)), discover(inbox), inbox=inbox,
                                        archive_dir=archive)  # fmt: skip
        assert not failures, failures  # a generated city's ordinary defects pass the raw gate
        res = run_dbt(["build", "--quiet"], base_url=url, capture=True, project=project)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    finally:
        mp.undo()
    # A template may have no session: end those the loader's pooled engines keep open.
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (_city_template(),))


@pytest.fixture(scope="session")
def city_template(server_url: str) -> Path:
    """The folder of the run's graded city (its database is ``_city_template()``), built by the
    first process that asks for it; the others wait for it (a lock file beside it)."""
    from filelock import FileLock

    home = _city_home()
    home.mkdir(exist_ok=True)
    with FileLock(str(home) + ".lock"):
        if not (home / "built").exists():
            _build_city(server_url, home)
            (home / "built").touch()
    return home


@pytest.fixture(scope="session")
def graded_city(server_url, city_template, tmp_path_factory) -> Callable[..., AbstractContextManager[dict]]:
    """``with graded_city("label") as city:`` a database of its own holding the generated city of
    ``CITY_SUBJECTS`` subjects, loaded through the loader (inbox, archive and its ledger in a
    temporary folder) and graded by dbt from a copy of the project; ``city`` holds ``url`` (admin),
    ``admin`` (libpq), ``inbox``, ``archive``, ``project``. The city is loaded and graded once per
    run; each ``graded_city`` is a copy of its database and folders, free to be changed."""
    import shutil

    from credit_platform.warehouse.urls import libpq_url

    @contextmanager
    def make(label: str) -> Iterator[dict]:
        home = tmp_path_factory.mktemp(label)
        for part in ("inbox", "archive", "dbt_project"):
            shutil.copytree(city_template / part, home / part)
        shutil.copy2(city_template / "manifest.json", home / "manifest.json")
        inbox, archive, project = home / "inbox", home / "archive", home / "dbt_project"
        name, url = copy_database(server_url, _city_template(), label)
        mp = pytest.MonkeyPatch()
        mp.setenv("CREDIT_INBOX", str(inbox))
        mp.setenv("CREDIT_ARCHIVE", str(archive))
        try:
            yield {"url": url, "admin": libpq_url(url), "inbox": inbox, "archive": archive, "project": project}
        finally:
            mp.undo()
            access.drop_database(server_url, name)

    return make


#: The Redis these machines run, which the Celery tests use as their broker.
REDIS = ("127.0.0.1", 6379)


def redis_answers() -> bool:
    """Whether a Redis answers PING at ``REDIS``."""
    import socket

    try:
        with socket.create_connection(REDIS, timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def department_file(city: dict, department: str, name: str, header: list[str], rows: list[list]) -> str:
    """A CSV file ``name`` with ``header`` and ``rows`` in the department's inbox folder of a graded
    city; returns its path relative to the inbox, as the loader takes it."""
    import csv

    rel = f"departments/{department}/{name}"
    with open(city["inbox"] / rel, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return rel


def dbt_build(city: dict) -> None:
    """``dbt build`` of a graded city whose data a test changed. dbt's unit tests are left out: they
    test the models' SQL on fixtures, whatever the data, and run in the city's own build."""
    from credit_platform.grading.dbt_runner import run_dbt

    res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test"], base_url=city["url"], capture=True,
                  project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


@pytest.fixture
def scratch_database(server_url: str) -> Iterator[str]:
    """An empty database (not migrated) for one test."""
    name, url = _scratch_db(server_url, "empty")
    yield url
    access.drop_database(server_url, name)


@pytest.fixture(scope="session")
def role_url(warehouse: str) -> Callable[[str], str]:
    """URL of the session's warehouse database as one component's role."""
    return lambda component: url_for(component, warehouse)


@pytest.fixture(scope="session")
def airflow_db(server_url: str, warehouse: str) -> Iterator[str]:
    """Name of an Airflow metadata database made for this session (owned by credit_airflow)."""
    name = f"credit_test_airflow_{uuid.uuid4().hex[:8]}"
    access.ensure_airflow_database(warehouse, name)
    yield name
    access.drop_database(server_url, name)


def make_airflow_env(base_url: str, airflow_db: str, local: Path, **extra: str) -> dict[str, str]:
    """Environment for Airflow commands against the given databases, with a scratch local folder."""
    from credit_platform.local.airflow_env import airflow_env
    from credit_platform.settings import paths

    # The scratch local folder has no password file: point libpq (and the URL builders) at the
    # embedded server's, so Airflow's processes find its passwords.
    # DAGs stay paused: the Airflow services a test starts must run only what the test runs (never an
    # hourly ingest of the checkout's inbox).
    overrides = {"CREDIT_LOCAL_DIR": str(local), "PGPASSFILE": str(paths().warehouse_passfile),
                 "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True", **extra}
    saved = {k: os.environ.get(k) for k in [*overrides, "AIRFLOW_HOME"]}
    os.environ.update(overrides)
    os.environ.pop("AIRFLOW_HOME", None)
    try:
        env = airflow_env(base_url=base_url, airflow_db=airflow_db)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    env.update(overrides)
    env["WAREHOUSE_URL"] = base_url
    env["CREDIT_AIRFLOW_DB"] = airflow_db
    return env


@pytest.fixture(scope="session")
def airflow_test_env(warehouse: str, airflow_db: str, tmp_path_factory) -> dict[str, str]:
    """Environment for Airflow commands run against the session's databases, in a scratch home;
    Airflow's metadata database is migrated once here (each `airflow db migrate` costs an Airflow
    start-up, several seconds, even when there is nothing to do)."""
    import subprocess
    import sys

    env = make_airflow_env(warehouse, airflow_db, tmp_path_factory.mktemp("local"))
    res = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return env


@pytest.fixture
def cli_runner(monkeypatch, capsys) -> Callable[[str, Path], Callable[..., tuple[int, str]]]:
    """``run = cli_runner(warehouse_url, outbox)``; ``run("objection", "file", ...)`` runs the command as a
    clerk would, in this process, and returns (exit code, everything it printed)."""

    def make(url: str, outbox: Path) -> Callable[..., tuple[int, str]]:
        from credit_platform import cli

        monkeypatch.setenv("WAREHOUSE_URL", url)
        monkeypatch.setenv("CREDIT_OUTBOX", str(outbox))

        def run(*argv: str) -> tuple[int, str]:
            capsys.readouterr()
            code = cli.main(list(argv))
            out = capsys.readouterr()
            return code, out.out + out.err

        return run

    return make

"""The whole chain on a small generated city, through `airflow dags test`: real loads, a real dbt
build rendered by Cosmos, a real Great Expectations checkpoint, real publication and draw."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import make_airflow_env

from credit_platform.demo.generate import generate
from credit_platform.local import chain
from credit_platform.warehouse import access, migrate
from credit_platform.warehouse.urls import libpq_url, render, url_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class City:
    url: str
    airflow_db: str
    env: dict
    root: Path
    manifest: dict
    runs: list


def _airflow(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def city(server_url, tmp_path_factory):
    from sqlalchemy.engine import make_url

    root = tmp_path_factory.mktemp("city")
    manifest = generate(root / "inbox", root / "manifest.json", seed=7, subjects=2000)
    tag = uuid.uuid4().hex[:8]
    db, airflow_db = f"credit_test_city_{tag}", f"credit_test_city_airflow_{tag}"
    access.create_database(server_url, db)
    url = render(make_url(server_url).set(database=db))
    migrate.migrate(url)
    access.ensure_airflow_database(url, airflow_db)
    env = make_airflow_env(
        url, airflow_db, root / "local",
        CREDIT_INBOX=str(root / "inbox"), CREDIT_ARCHIVE=str(root / "archive"), CREDIT_OUTBOX=str(root / "outbox"),
    )  # fmt: skip
    runs = chain.run_chain(env, log_dir=root / "logs", unpause=("grade_industries",))
    yield City(url, airflow_db, env, root, manifest, runs)
    access.drop_database(server_url, airflow_db)
    access.drop_database(server_url, db)


def _analyst(city: City) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url_for("analyst", city.url)))


def test_every_dag_of_the_chain_succeeds(city):
    assert [r.dag_id for r in city.runs] == chain.DAG_ORDER
    failed = [f"{r.dag_id}: {r.log}" for r in city.runs if not r.success]
    assert failed == [], "\n".join(Path(f.split(": ")[1]).read_text()[-3000:] for f in failed)
    # each task's log is where the Airflow UI of the same AIRFLOW_HOME reads it
    folder = Path(city.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    for r in city.runs:
        assert r.task_logs and all(p.is_file() and folder / f"dag_id={r.dag_id}" in p.parents for p in r.task_logs)


def test_the_summary_reports_what_the_chain_did(city, monkeypatch):
    monkeypatch.setenv("CREDIT_OUTBOX", str(city.root / "outbox"))
    text = chain.summary(city.url)
    with _analyst(city) as conn:
        sources = conn.execute("SELECT source, count(*) FILTER (WHERE status = 'loaded'), sum(rows_loaded)"
                               " FROM ops.load_batches GROUP BY source").fetchall()  # fmt: skip
        period, industries = conn.execute("SELECT max(evaluation_period), array_agg(DISTINCT industry_code)"
                                          " FROM marts.fct_industry_credit_grades").fetchone()  # fmt: skip
        platforms = [p for (p,) in conn.execute("SELECT DISTINCT platform FROM ops.publications"
                                                " WHERE platform NOT LIKE 'department:%'")]  # fmt: skip
        departments = [d for (d,) in conn.execute("SELECT DISTINCT department_code FROM ops.inspection_plans")]
        returned, tasks = conn.execute("SELECT count(*) FILTER (WHERE inspection_date IS NOT NULL), count(*)"
                                       " FROM marts.fct_inspection_outcomes").fetchone()  # fmt: skip
    headings = ["Loaded per source (all batches):", "Quality gates (Great Expectations;",
                f"Subjects per grade class and industry, {period}:", "Evaluation periods:",
                "Published (batches acknowledged by each platform; ops.publications):",
                "Inspection lists (double random draw), the latest round:"]  # fmt: skip
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    assert sources and industries and platforms and departments
    for source, loaded_files, rows in sources:
        assert re.search(rf"^  {source} +{loaded_files} +\d+ +{rows} ", text, re.M), source
    with _analyst(city) as conn:  # a receipt for every department file the chain loaded
        (files,) = conn.execute("SELECT count(*) FROM ops.load_batches WHERE department_code IS NOT NULL"
                                " AND source_file LIKE 'departments/%'").fetchone()  # fmt: skip
    assert files and f"receipts (回执) the departments find, one per file loaded: {files} in" in text
    for stage in ("raw", "marts", "publication"):  # the latest run of each stage
        assert re.search(rf"^  {stage} +(passed|FAILED) +\d+/\d+ expectations", text, re.M), stage
    for industry in industries:
        assert re.search(rf"^  {industry} +\d", text, re.M), industry
    assert re.search(rf"^  {period} +open ", text, re.M)
    for platform in platforms:
        assert re.search(rf"^  {platform} +\w+ +\d+ batches", text, re.M), platform
    assert re.search(r"^  departments: [1-9]\d* workbooks", text, re.M)
    measures = text.split("分级分类监管措施", 1)[1].split("\nMeasures to record", 1)[0]
    assert len(re.findall(r"^  [a-z]+ +[1-9]\d* +\d+ +\d+ +\d+ +\d+ +\d+$", measures, re.M)) >= 10, measures
    # Graded today, the measures to record are all due, none applied or overdue yet (what the
    # departments then report, make demo's last step, is tested in test_measure_execution.py).
    execution = text.split("信用监管执行情况", 1)[1].split("\nEvaluation periods", 1)[0]
    due = re.findall(r"^  [a-z]+ +([1-9]\d*) +0 +0 +0 +([1-9]\d*) +\d{4}-\d\d-\d\d +0$", execution, re.M)
    assert len(due) >= 10 and all(a == b for a, b in due), execution
    for department in departments:
        assert re.search(rf"^  \S+ {department} +\d+ matters, +\d+ subjects drawn", text, re.M), department
    assert f"results returned for {returned} of {tasks} tasks" in text


def test_rejected_rows_per_reason_equal_the_defect_manifest(city):
    files = city.manifest["files"]
    with _analyst(city) as conn:
        batches = {f: (n, loaded, rejected, status) for f, n, loaded, rejected, status in conn.execute(
            "SELECT source_file, rows_in, rows_loaded, rows_rejected, status FROM ops.load_batches"
            " WHERE status <> 'duplicate' AND source <> 'measure_execution'")}  # fmt: skip
        rejected = Counter({(f, r): n for f, r, n in conn.execute(
            "SELECT source_file, reason_code, count(*) FROM ops.rejected_rows GROUP BY 1, 2")})  # fmt: skip
    assert set(batches) == set(files)  # the generated files (execution records are reported after grading)
    expected = Counter({(f, r): n for f, spec in files.items() for r, n in spec["defects"].items() if n})
    assert rejected == expected
    for f, (n, loaded, rej, status) in batches.items():
        assert status == "loaded" and n == files[f]["rows"] and n == loaded + rej, f
    assert sum(expected.values()) > 0


def test_a_finished_ingest_emits_the_asset_event_that_queues_grading(city):
    """The events queue grading and carry their run's figures; each asset is described."""
    meta = libpq_url(url_for("airflow", city.url, database=city.airflow_db))
    raw_province, raw_departments, grades = "raw_province_evaluations", "raw_department_records", \
        "validated_industry_credit_grades"  # fmt: skip
    with psycopg.connect(meta) as conn:
        events = {}
        for dag, task, name, extra in conn.execute(
                "SELECT e.source_dag_id, e.source_task_id, a.name, e.extra FROM asset_event e"
                "  JOIN asset a ON a.id = e.asset_id ORDER BY e.id").fetchall():  # fmt: skip
            events.setdefault((dag, task, name), []).append(extra)
        queued = set(conn.execute(
            "SELECT a.name, q.target_dag_id FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id"
        ).fetchall())
        described = dict(conn.execute("SELECT name, extra ->> 'description' FROM asset").fetchall())
        addresses = dict(conn.execute("SELECT name, uri FROM asset").fetchall())
    assert ("ingest_province", "summarise", raw_province) in events
    assert ("ingest_departments", "summarise", raw_departments) in events
    assert ("grade_industries", "validate_grades", grades) in events
    assert (raw_province, "grade_industries") in queued
    assert (raw_departments, "grade_industries") in queued
    assert described[grades].startswith("行业信用评价结果")
    assert described[raw_province] and described[raw_departments]
    assert addresses[grades] == "credit://warehouse/marts/fct_industry_credit_grades"
    with _analyst(city) as conn:
        province_rows = conn.execute("SELECT sum(rows_loaded), sum(rows_rejected) FROM ops.load_batches"
                                     " WHERE source_file LIKE 'province/%' AND status = 'loaded'").fetchone()
        period = conn.execute("SELECT max(evaluation_period) FROM marts.fct_industry_credit_grades").fetchone()[0]
        per_class = dict(conn.execute("SELECT grade_class, count(*) FROM marts.fct_industry_credit_grades"
                                      " WHERE evaluation_period = %s GROUP BY 1", (period,)).fetchall())
        platforms = {p for (p,) in conn.execute("SELECT DISTINCT platform FROM ops.publications"
                                                " WHERE platform NOT LIKE 'department:%'")}  # fmt: skip
    ingest = events[("ingest_province", "summarise", raw_province)][0]
    assert (ingest["rows_loaded"], ingest["rows_rejected"]) == tuple(province_rows)
    graded = events[("grade_industries", "validate_grades", grades)][-1]
    assert graded["period"] == period and graded["grades_per_class"] == per_class
    assert graded["grades"] == sum(per_class.values()) and set(graded["psi"]) and graded["drift_ok"] is True
    sends = events[("publish_grades", "send", "publications_sent")]
    assert {e["platform"] for e in sends if e["batches"]} == platforms  # a platform with nothing new: 0 batches


def test_grades_follow_the_planted_cases(city):
    planted = city.manifest["planted"]
    with _analyst(city) as conn:
        rows = conn.execute(
            "SELECT uscc, grade, grade_class, is_vetoed, veto_rule_code, has_sufficient_data"
            " FROM marts.fct_industry_credit_grades WHERE evaluation_period = '2025-H2'"
        ).fetchall()
    by = {}
    for uscc, grade, cls, vetoed, rule, enough in rows:
        by.setdefault(uscc, []).append((grade, cls, vetoed, rule, enough))
    dishonest = [g for u in planted["serious_dishonesty"] for g in by.get(u, [])]
    listed_in_h2 = [g for g in dishonest if g[2]]
    assert listed_in_h2 and all(g[0] == "D" and g[3] == "SERIOUS_DISHONESTY" for g in listed_in_h2)
    clean = [g for u in planted["commended_clean"] for g in by.get(u, [])]
    assert clean and all(g[1] == "A" and not g[2] for g in clean)
    thin = [g for u in planted["insufficient_data"] for g in by.get(u, [])]
    assert thin and all(not g[4] and g[1] != "A" for g in thin)


def test_each_platform_gets_its_batches_with_manifests_and_each_department_its_workbook(city):
    from openpyxl import load_workbook

    from credit_platform.publish import config

    cfg = config.load()
    with _analyst(city) as conn:
        levels = [cfg.grade_level(i) for (i,) in conn.execute(
            "SELECT industry_code FROM marts.fct_industry_credit_grades")]  # fmt: skip
        pubs = conn.execute("SELECT platform, dataset, format, status, upserts, withdrawals, receipt, output_path,"
                            " file_sha256 FROM ops.publications WHERE platform NOT LIKE 'department:%'"
                            ).fetchall()  # fmt: skip
        books = conn.execute("SELECT platform, output_path, row_count FROM ops.publications"
                             " WHERE platform LIKE 'department:%' AND dataset = 'grades'").fetchall()  # fmt: skip
        lists = conn.execute("SELECT dataset, count(*) FROM ops.publications WHERE platform LIKE 'department:%'"
                             " AND dataset LIKE 'inspection%' GROUP BY dataset").fetchall()  # fmt: skip
        measures = conn.execute("SELECT platform, output_path, row_count FROM ops.publications"
                                " WHERE platform LIKE 'department:%' AND dataset = 'measures'").fetchall()  # fmt: skip
    assert {p[0] for p in pubs} == {"city", "prefecture", "province"}
    grades = {}
    for platform, dataset, fmt, status, ups, wds, receipt, path, digest in pubs:
        assert status == "acknowledged" and fmt == cfg.platforms[platform].format
        delivered = city.root / "outbox" / platform / Path(path).name
        assert receipt == f"written {delivered}"
        data = delivered.read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        manifest = json.loads((delivered.parent / f"{delivered.name}.manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == digest and manifest["rows"] == {"total": ups + wds, "upsert": ups, "withdraw": wds}
        if dataset == "grades":
            grades[platform] = grades.get(platform, 0) + ups
        if fmt == "csv":
            header = next(csv.reader([data.decode("gb18030").splitlines()[0]]))
            assert "统一社会信用代码" in header and "评价得分" not in header  # the city: public columns
    assert grades["city"] == grades["prefecture"] == sum(1 for lv in levels if lv == "public")
    assert grades["province"] == len(levels)
    assert len(books) >= 10
    assert dict(lists) == {"inspection_list": len(books), "inspection_form": len(books)}
    for _platform, path, n in books:
        ws = load_workbook(path, read_only=True).active
        assert next(ws.iter_rows(max_row=1, values_only=True))[5] == "信用等级" and ws.max_row == n + 1
    assert {p for p, *_ in measures} == {p for p, *_ in books}  # each department its measures too
    for _platform, path, n in measures:
        ws = load_workbook(path, read_only=True).active
        assert next(ws.iter_rows(max_row=1, values_only=True))[6] == "措施名称" and ws.max_row == n + 1 and n > 0


def test_inspection_lists_are_drawn_fairly_and_shown_to_analysts(city):
    with _analyst(city) as conn:
        tasks = conn.execute("SELECT task_id, plan_id, department_code, uscc, inspector_ids"
                             " FROM marts.fct_inspection_tasks").fetchall()  # fmt: skip
        plans = conn.execute("SELECT plan_id, announced_value, seed_sha256, algorithm_version"
                             " FROM ops.inspection_plans").fetchall()  # fmt: skip
        conflicts = {(d, i): set(c) for d, i, c in conn.execute(
            "SELECT department_code, inspector_id, conflict_usccs FROM marts.dim_inspectors")}  # fmt: skip
        deregistered = {u for (u,) in conn.execute("SELECT uscc FROM marts.dim_subjects WHERE is_deregistered")}
    assert tasks and plans
    for plan_id, announced, seed, version in plans:
        assert seed == hashlib.sha256(f"{plan_id}|{announced}".encode()).hexdigest() and version
    for _task_id, _plan_id, dept, uscc, inspectors in tasks:
        assert len(set(inspectors)) >= 2
        assert not any(uscc in conflicts[(dept, i)] for i in inspectors)
        assert uscc not in deregistered
    departments_per_task = Counter(task_id for task_id, _ in {(t[0], t[2]) for t in tasks})
    subjects_per_task = {}
    for task_id, _, _, uscc, _ in tasks:
        subjects_per_task.setdefault(task_id, set()).add(uscc)
    assert all(len(s) == 1 for s in subjects_per_task.values())
    assert any(n > 1 for n in departments_per_task.values()), "no joint inspection in a city of 2,000"


def test_every_draw_verifies_and_any_tampering_is_reported(city, tmp_path):
    from credit_platform.inspection import draw as inspection
    reference = Path(inspection.__file__).with_name("reference") / "verify_draw.py"
    analyst = url_for("analyst", city.url)
    with _analyst(city) as conn:
        plans = [p for (p,) in conn.execute("SELECT plan_id FROM ops.inspection_plans ORDER BY plan_id")]
    assert plans and all(inspection.verify(analyst, p).matches for p in plans)

    plan = max(plans, key=lambda p: sum(len(v) for v in inspection.audit_record(analyst, p)["drawn"].values()))
    record = inspection.audit_record(analyst, plan)

    def reference_says(rec: dict) -> tuple[int, str]:
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
        res = subprocess.run([sys.executable, "-I", str(reference), str(path)], capture_output=True, text=True)
        return res.returncode, res.stdout

    assert reference_says(record) == (0, f"{plan}: MATCH\n")
    # the announced value changed after the fact
    code, out = reference_says({**record, "announced_value": record["announced_value"] + "x"})
    assert code == 1 and "seed differs" in out
    assert any("seed" in p for p in inspection.verify_record({**record, "announced_value": "x"}))
    # one subject swapped in the population of its class
    cls = next(c for c in "DCBA" if record["population"][c])
    population = {**record["population"], cls: record["population"][cls][1:] + ["91140681MA0ZZZZZZZ"]}
    code, out = reference_says({**record, "population": population})
    assert code == 1 and f"class {cls}: population hash differs" in out
    # one stored task changed in the warehouse: the command reports it
    drawn = next(u for c in "DCBA" for u in record["drawn"][c] if u not in record["overrides"][c])
    other = next(u for c in "ABCD" for u in record["population"][c] if u not in record["drawn"][c])
    admin = libpq_url(city.url)
    with psycopg.connect(admin) as conn:
        conn.execute("UPDATE ops.inspection_tasks SET uscc = %s WHERE plan_id = %s AND uscc = %s", (other, plan, drawn))
    try:
        problems = inspection.verify(analyst, plan).problems
        assert problems and drawn in " ".join(problems) and other in " ".join(problems)
    finally:
        with psycopg.connect(admin) as conn:
            conn.execute("UPDATE ops.inspection_tasks SET uscc = %s WHERE plan_id = %s AND uscc = %s",
                         (drawn, plan, other))  # fmt: skip
    assert inspection.verify(analyst, plan).matches


def test_the_demo_draw_was_announced_with_a_demo_value_and_its_kits_verify(city):
    from credit_platform.inspection import announcements
    from credit_platform.inspection import draw as inspection

    with _analyst(city) as conn:
        plans = conn.execute("SELECT p.plan_id, p.draw_round, p.announced_value, p.algorithm_version, p.created_at,"
                             " a.value_source, a.announced_value, a.announced_at, a.draw_at, p.disclosure"
                             " FROM ops.inspection_plans p LEFT JOIN ops.draw_announcements a USING (draw_round)"
                             ).fetchall()  # fmt: skip
    assert plans
    for _plan, rnd, value, version, drawn_at, source, announced, announced_at, draw_at, _ in plans:
        assert version == inspection.ALGORITHM_VERSION == "credit-draw-3"
        assert source == announcements.DEMO_SOURCE and "demo value, not a real lottery draw" in source
        assert value == announced == announcements.demo_value(rnd) and "非真实开奖" in value
        assert announced_at < draw_at <= drawn_at
    rounds = {rnd for _, rnd, *_ in plans}
    public = {p for p, *_, disclosure in plans if disclosure == "public"}
    folders = [city.root / "outbox" / "inspections" / rnd for rnd in rounds]
    kits = sorted(k for f in folders for k in f.glob("kit_*.json"))
    assert public and {k.name for k in kits} == {f"kit_{p}.json" for p in public}
    reference = Path(inspection.__file__).with_name("reference") / "verify_draw.py"
    res = subprocess.run(["env", "-i", f"PATH={os.defpath}", sys.executable, "-I", str(reference),
                          *map(str, folders)], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(res.stdout.splitlines()) == sorted(f"{p}: MATCH" for p in public)


def test_ingesting_again_loads_nothing_twice_and_records_the_duplicates(city):
    loaded = "SELECT count(*), sum(rows_loaded) FROM ops.load_batches WHERE status = 'loaded'"
    batches = "SELECT count(*) FROM ops.load_batches"
    with _analyst(city) as conn:
        before, batches_before = conn.execute(loaded).fetchone(), conn.execute(batches).fetchone()
    # Unchanged files are not picked up again: no batch at all.
    run = chain.run_dag("ingest_province", city.env, city.root / "logs")
    assert run.success
    assert "nothing new was loaded" in run.log.read_text()
    with _analyst(city) as conn:
        assert conn.execute(batches).fetchone() == batches_before
    # Files touched (same bytes, new time) are read again and recorded as duplicates of the first load.
    province = sorted(f for f in city.manifest["files"] if f.startswith("province/"))
    for f in province:
        os.utime(city.root / "inbox" / f)
    run = chain.run_dag("ingest_province", city.env, city.root / "logs")
    assert run.success
    assert "nothing new was loaded" in run.log.read_text()
    with _analyst(city) as conn:
        assert conn.execute(loaded).fetchone() == before
        duplicates = conn.execute(
            "SELECT d.source_file, o.source_file FROM ops.load_batches d JOIN ops.load_batches o"
            " ON o.batch_id = d.duplicate_of WHERE d.status = 'duplicate'"
        ).fetchall()
    assert sorted(d for d, _ in duplicates) == province and all(d == o for d, o in duplicates)


def test_a_grading_task_runs_again_by_period_and_from_scratch_with_full_refresh(city):
    """A model's task run again takes the incremental path (the open periods computed again); with
    the DAG's param full_refresh it is built from scratch. Both leave the same rows."""
    task = "dbt.fct_industry_credit_grades_run"

    def grades() -> tuple:
        with _analyst(city) as conn:
            return conn.execute("SELECT count(*), md5(string_agg(g::text, '|' ORDER BY g::text))"
                                " FROM marts.fct_industry_credit_grades AS g").fetchone()  # fmt: skip

    before = grades()
    again = _airflow(["tasks", "test", "grade_industries", task], city.env)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "--full-refresh" not in again.stdout + again.stderr
    assert grades() == before
    full = _airflow(["tasks", "test", "-t", '{"full_refresh": true}', "grade_industries", task], city.env)
    assert full.returncode == 0, (full.stdout + full.stderr)[-3000:]
    assert "--full-refresh" in full.stdout + full.stderr
    assert grades() == before


def test_an_invalid_grade_fails_the_checkpoint_and_nothing_is_published(city):
    """Runs last in this module: it corrupts the marts."""
    with _analyst(city) as conn:
        published_before = conn.execute("SELECT count(*) FROM ops.publications").fetchone()[0]
    outbox_before = {p: p.stat().st_mtime_ns for p in (city.root / "outbox").rglob("*.csv")}
    with psycopg.connect(libpq_url(city.url), autocommit=True) as admin:
        admin.execute(
            "UPDATE marts.fct_industry_credit_grades SET grade = 'E' WHERE ctid = "
            "(SELECT ctid FROM marts.fct_industry_credit_grades WHERE evaluation_period = '2025-H2' LIMIT 1)"
        )
    check = _airflow(["tasks", "test", "grade_industries", "validate_grades"], city.env)
    out = check.stdout + check.stderr
    assert "ValidationFailed" in out and "expect_column_values_to_be_in_set" in out and "'E'" in out
    publish = chain.run_dag("publish_grades", city.env, city.root / "logs")
    assert not publish.success
    assert "PublicationBlocked" in publish.log.read_text()
    with _analyst(city) as conn:
        last = conn.execute("SELECT success, details FROM ops.validation_runs ORDER BY validation_run_id DESC LIMIT 1"
                            ).fetchone()  # fmt: skip
        assert last[0] is False and json.dumps(last[1], ensure_ascii=False).count("grade") >= 1
        assert conn.execute("SELECT count(*) FROM ops.publications").fetchone()[0] == published_before
    assert {p: p.stat().st_mtime_ns for p in (city.root / "outbox").rglob("*.csv")} == outbox_before


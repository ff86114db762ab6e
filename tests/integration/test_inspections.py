"""Double-random inspections on a generated city graded for real: the draw per department and
matter (sizes, overrides, deregistered subjects, inspectors, joint inspections), refused without
an announcement made before its draw time, a second round's yearly caps, verification and
tampering, each public plan's verification kit checked by the reference script alone, the
departments' Excel list and result form read back with openpyxl, the filled form loaded through
the ingest into the next grading, and 一公开: the results published at each department's
disclosure level and listed when overdue."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook
from sql import rows

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.ingest.config import sources
from credit_platform.ingest.loader import load_file
from credit_platform.inspection import announcements, kits
from credit_platform.inspection import draw as inspection
from credit_platform.inspection import lists as inspection_lists
from credit_platform.publish import config as publication_config
from credit_platform.publish import publish
from credit_platform.quality.checkpoints import run_checkpoint
from credit_platform.receipts.write import last_batch, write_since
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

DRAWN_ON = dt.date(2026, 3, 2)
VALUE = "上证指数 2026-03-02 收盘 3341.27"


def announce(publisher: str, draw_round: str, value: str, source: str = "上证指数收盘点位, 2026-03-02") -> None:
    """Announce ``draw_round`` to be drawn a moment from now, record its value, wait for the draw time."""
    (now,) = rows(publisher, "SELECT now()")[0]
    a = announcements.announce(publisher, draw_round, source, now + dt.timedelta(milliseconds=300))
    announcements.record_value(publisher, draw_round, value)
    time.sleep(max(0.0, (a.draw_at - rows(publisher, "SELECT now()")[0][0]).total_seconds()) + 0.05)


@pytest.fixture(scope="module")
def city(graded_city, tmp_path_factory):
    with graded_city("inspections") as c:
        c["publisher"] = libpq_url(url_for("publisher", c["url"]))
        c["analyst"] = libpq_url(url_for("analyst", c["url"]))
        c["period"] = rows(c["admin"], "SELECT evaluation_period FROM marts.fct_industry_credit_grades"
                                       " ORDER BY period_end_date DESC LIMIT 1")[0][0]  # fmt: skip
        announce(c["publisher"], "2026-R1", VALUE)
        c["results"] = inspection.draw(c["publisher"], c["period"], VALUE, draw_round="2026-R1",
                                       drawn_on=DRAWN_ON)  # fmt: skip
        c["outbox"] = tmp_path_factory.mktemp("outbox")
        yield c


def test_each_department_draws_per_matter_at_its_ratios(city):
    results = [r for r in city["results"] if r.status == "drawn"]
    matters = rows(city["admin"], "SELECT department_code, matter_code FROM marts.dim_inspection_matters")
    assert {(r.department_code, r.matter_code) for r in results} == set(matters)
    policy = {(d, c): (float(r), m) for d, c, r, m in rows(
        city["admin"], "SELECT department_code, grade_class, sampling_ratio, min_count"
                       " FROM marts.dim_inspection_ratios")}  # fmt: skip
    for r in results:
        for cls in inspection.CLASSES:
            ratio, minimum = policy[(r.department_code, cls)]
            n = r.population[cls]
            assert r.sample_sizes[cls] == (0 if n == 0 else min(n, max(minimum, math.ceil(ratio * n - 1e-9))))
            assert r.drawn[cls] >= min(r.sample_sizes[cls], n) or r.capped
    # The department with its own policy draws at its own ratios, the others at the defaults.
    own = rows(city["admin"], "SELECT DISTINCT department_code FROM marts.dim_inspection_ratios"
                              " WHERE configured_by = 'department'")  # fmt: skip
    assert own == [("scjgj",)]


def test_overrides_are_inspected_and_deregistered_subjects_never(city):
    tasks = rows(city["admin"], "SELECT department_code, industry_code, uscc, selection, override_reason"
                                " FROM ops.inspection_tasks")  # fmt: skip
    drawn = {(d, i, u) for d, i, u, *_ in tasks}
    overrides = rows(city["admin"], """
        SELECT o.department_code, sc.industry_code, o.uscc, o.reason FROM marts.fct_inspection_overrides o
          JOIN marts.fct_supervision_scopes sc USING (department_code, uscc)
          JOIN marts.dim_inspection_settings st USING (department_code)
          JOIN marts.fct_industry_credit_grades g ON g.uscc = o.uscc AND g.industry_code = sc.industry_code
           AND g.evaluation_period = %(p)s
          JOIN marts.dim_inspection_matters m ON m.department_code = o.department_code
           AND m.industry_code = sc.industry_code
         WHERE CASE o.reason WHEN 'serious_dishonesty' THEN st.include_dishonest ELSE st.include_open_complaints END
        """, {"p": city["period"]})  # fmt: skip
    assert overrides, "the generated city lists some subjects as seriously dishonest"
    assert {(d, i, u) for d, i, u, _ in overrides} <= drawn
    assert {r for *_, s, r in tasks if s == "override"} <= {"serious_dishonesty", "open_complaint"}
    gone = {u for (u,) in rows(city["admin"], "SELECT uscc FROM marts.fct_supervision_scopes WHERE is_deregistered")}
    assert gone, "the generated city has deregistered subjects in scope"
    assert not gone & {u for _, _, u in drawn}
    assert not gone & {u for (u,) in rows(city["admin"], "SELECT uscc FROM ops.inspection_population")}


def test_inspectors_two_each_never_in_conflict_and_evenly_loaded(city):
    conflicts = {(d, i): set(c or []) for d, i, c in rows(
        city["admin"], "SELECT department_code, inspector_id, conflict_usccs FROM marts.dim_inspectors")}
    visits = rows(city["admin"], "SELECT DISTINCT department_code, task_id, uscc, inspector_ids"
                                 " FROM ops.inspection_tasks")  # fmt: skip
    load: dict[tuple[str, str], int] = {}
    for dept, _task, uscc, inspectors in visits:
        assert len(set(inspectors)) >= 2
        assert not any(uscc in conflicts[(dept, i)] for i in inspectors)
        for i in inspectors:
            load[(dept, i)] = load.get((dept, i), 0) + 1
    for dept in {d for d, _ in conflicts}:
        busy = [load.get((d, i), 0) for d, i in conflicts if d == dept]
        if sum(busy):
            assert max(busy) - min(busy) <= 2, (dept, busy)
    # One task id per subject and round, shared by the departments that drew it: a joint inspection.
    joint = rows(city["admin"], "SELECT task_id FROM ops.inspection_tasks GROUP BY task_id"
                                " HAVING count(DISTINCT department_code) > 1")  # fmt: skip
    assert joint
    assert rows(city["admin"], "SELECT count(DISTINCT task_id) = count(DISTINCT uscc) FROM ops.inspection_tasks"
                               " t JOIN ops.inspection_plans p USING (plan_id) WHERE p.draw_round = '2026-R1'")[0][0]
    shown = rows(city["analyst"], "SELECT count(*) FROM marts.fct_inspection_tasks WHERE draw_round = '2026-R1'")
    assert shown[0][0] == rows(city["admin"], "SELECT count(*) FROM ops.inspection_tasks")[0][0]


def test_every_plan_verifies_and_tampering_is_reported(city):
    plans = [p for (p,) in rows(city["admin"], "SELECT plan_id FROM ops.inspection_plans")]
    assert all(inspection.verify(city["analyst"], p).matches for p in plans)
    plan = rows(city["admin"], "SELECT plan_id FROM ops.inspection_tasks WHERE selection = 'random'"
                               " GROUP BY plan_id ORDER BY count(*) DESC LIMIT 1")[0][0]  # fmt: skip
    drawn, cls = rows(city["admin"], "SELECT uscc, grade_class FROM ops.inspection_tasks WHERE plan_id = %(p)s"
                                     " AND selection = 'random' LIMIT 1", {"p": plan})[0]  # fmt: skip
    other = rows(city["admin"], "SELECT uscc FROM ops.inspection_population WHERE plan_id = %(p)s AND"
                                " grade_class = %(c)s AND uscc NOT IN (SELECT uscc FROM ops.inspection_tasks"
                                " WHERE plan_id = %(p)s) LIMIT 1", {"p": plan, "c": cls})[0][0]  # fmt: skip
    with psycopg.connect(city["admin"], autocommit=True) as conn:
        conn.execute("UPDATE ops.inspection_tasks SET uscc = %s WHERE plan_id = %s AND uscc = %s", (other, plan, drawn))
        try:
            problems = inspection.verify(city["analyst"], plan).problems
            assert problems and drawn in " ".join(problems) and other in " ".join(problems)
        finally:
            conn.execute("UPDATE ops.inspection_tasks SET uscc = %s WHERE plan_id = %s AND uscc = %s",
                         (drawn, plan, other))  # fmt: skip
        conn.execute("DELETE FROM ops.inspection_population WHERE plan_id = %s AND uscc = %s", (plan, other))
        try:
            assert any("population" in p for p in inspection.verify(city["analyst"], plan).problems)
        finally:
            conn.execute("INSERT INTO ops.inspection_population VALUES (%s, %s, %s)", (plan, cls, other))
    record = inspection.audit_record(city["analyst"], plan)
    assert any("seed" in p for p in inspection.verify_record({**record, "announced_value": "another"}))
    assert inspection.verify(city["analyst"], plan).matches


def test_the_draw_refuses_without_an_announcement_made_before_its_draw_time(city):
    def plans(draw_round: str) -> int:
        return rows(city["admin"], "SELECT count(*) FROM ops.inspection_plans WHERE draw_round = %s",
                    (draw_round,))[0][0]  # fmt: skip

    # Never announced: nothing drawn, and the error says what to do next in both languages.
    with pytest.raises(inspection.DrawError, match="没有抽查公告") as err:
        inspection.draw(city["publisher"], city["period"], draw_round="2026-RX", drawn_on=DRAWN_ON)
    assert "was not announced" in str(err.value) and "credit-platform announce-draw 2026-RX" in str(err.value)
    assert plans("2026-RX") == 0
    # The platform refuses to announce a draw time already past ...
    (now,) = rows(city["publisher"], "SELECT now()")[0]
    with pytest.raises(inspection.DrawError, match="not after now"):
        announcements.announce(city["publisher"], "2026-RY", "福彩3D 第2026050期开奖号码, 2026-02-28",
                               now - dt.timedelta(hours=1))  # fmt: skip
    # ... and an announcement made after the draw time (written behind its back) stops the draw.
    with psycopg.connect(city["admin"], autocommit=True) as conn:
        conn.execute("INSERT INTO ops.draw_announcements (draw_round, value_source, draw_at, announced_value,"
                     " value_recorded_at) VALUES ('2026-RY', '福彩3D 第2026050期开奖号码, 2026-02-28',"
                     " now() - interval '1 hour', '3 7 1', now())")  # fmt: skip
    with pytest.raises(inspection.DrawError, match="不早于抽取时间.*not before its draw time"):
        inspection.draw(city["publisher"], city["period"], draw_round="2026-RY", drawn_on=DRAWN_ON)
    assert plans("2026-RY") == 0
    # Announced, but the draw time has not come, or the value is not recorded yet.
    later = announcements.announce(city["publisher"], "2026-RZ", "福彩3D 第2026060期开奖号码, 2026-03-10",
                                   now + dt.timedelta(hours=1))  # fmt: skip
    assert later.announced_at < later.draw_at and later.announced_value is None
    with pytest.raises(inspection.DrawError, match="announced to be drawn at"):
        inspection.draw(city["publisher"], city["period"], draw_round="2026-RZ", drawn_on=DRAWN_ON)
    (now,) = rows(city["publisher"], "SELECT now()")[0]
    announcements.announce(city["publisher"], "2026-RV", "福彩3D 第2026061期开奖号码, 2026-03-11",
                           now + dt.timedelta(milliseconds=300))  # fmt: skip
    time.sleep(0.5)
    with pytest.raises(inspection.DrawError, match="公布值尚未录入.*record-draw-value 2026-RV"):
        inspection.draw(city["publisher"], city["period"], draw_round="2026-RV", drawn_on=DRAWN_ON)
    assert plans("2026-RZ") == plans("2026-RV") == 0
    # Another value than the one recorded is refused; an announcement and its value never change.
    with pytest.raises(inspection.DrawError, match="not the value recorded"):
        inspection.draw(city["publisher"], city["period"], "another", draw_round="2026-R1")
    with pytest.raises(inspection.DrawError, match="cannot be changed"):
        announcements.record_value(city["publisher"], "2026-R1", "another")
    with pytest.raises(inspection.DrawError, match="never changed"):
        announcements.announce(city["publisher"], "2026-R1", "another source", now + dt.timedelta(hours=2))
    with psycopg.connect(city["publisher"]) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE ops.draw_announcements SET draw_at = draw_at + interval '1 day'"
                     " WHERE draw_round = '2026-R1'")  # fmt: skip
    with psycopg.connect(city["publisher"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM ops.draw_announcements WHERE draw_round = '2026-R1'")
    assert rows(city["analyst"], "SELECT announced_value FROM ops.draw_announcements"
                                 " WHERE draw_round = '2026-R1'") == [(VALUE,)]  # fmt: skip


def test_each_public_plan_has_a_kit_the_reference_script_checks_alone(city, tmp_path):
    public = {p for (p,) in rows(city["admin"], "SELECT plan_id FROM ops.inspection_plans"
                                                " WHERE draw_round = '2026-R1' AND disclosure = 'public'")}  # fmt: skip
    assert public, "some departments publish their plans"
    written = kits.write(city["analyst"], tmp_path / "outbox", "2026-R1")
    assert {k.plan_id for k in written} == public and {k.status for k in written} == {"written"}
    assert {k.status for k in kits.write(city["analyst"], tmp_path / "outbox", "2026-R1")} == {"unchanged"}
    folder = tmp_path / "outbox" / "inspections" / "2026-R1"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"kit_{p}.json" for p in public)
    # Nothing personal: organisations' credit codes, natural persons' subjects as their rank key only.
    masked = 0
    for k in written:
        kit = json.loads(k.path.read_text(encoding="utf-8"))
        assert kit["algorithm_version"] == "credit-draw-3" and kit["announced_value"] == VALUE
        assert kit["announcement"]["value_source"] == "上证指数收盘点位, 2026-03-02"
        when = [dt.datetime.fromisoformat(t) for t in (kit["announcement"]["announced_at"],
                                                       kit["announcement"]["draw_at"], kit["drawn_at"])]
        assert when[0] < when[1] <= when[2]
        entries = [u for part in ("population", "overrides", "drawn") for c in inspection.CLASSES
                   for u in kit[part][c]]  # fmt: skip
        assert all(u.startswith("masked:") or kits.is_public_code(u) for u in entries)
        hidden = [u for (u,) in rows(city["admin"], "SELECT uscc FROM ops.inspection_population WHERE plan_id = %s"
                                                    " AND uscc LIKE '92%%'", (k.plan_id,))]  # fmt: skip
        text = k.path.read_text(encoding="utf-8")
        assert not any(u in text for u in hidden)
        assert kit["masked_entries"] == len(hidden)
        masked += len(hidden)
    assert masked, "the generated city's individual businesses (个体工商户) are masked"

    # The reference script alone, copied elsewhere, in a process without the package or a database.
    alone = tmp_path / "auditor"
    shutil.copytree(folder, alone / "kits")
    script = shutil.copy(Path(inspection.__file__).with_name("reference") / "verify_draw.py", alone)
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable

    def verify(target: Path) -> subprocess.CompletedProcess:
        return subprocess.run(["env", "-i", f"PATH={os.defpath}", python, "-I", script, str(target)],
                              capture_output=True, text=True, cwd=alone, timeout=120)  # fmt: skip

    res = verify(alone / "kits")
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(res.stdout.splitlines()) == sorted(f"{p}: MATCH" for p in public)
    # One drawn credit code changed in a copy of a kit: refused, naming both codes.
    kit_path = max(alone.glob("kits/kit_*.json"), key=lambda p: len(json.loads(p.read_text())["drawn"]["C"]))
    kit = json.loads(kit_path.read_text(encoding="utf-8"))
    cls = next(c for c in "CBDA" if any(not u.startswith("masked:") and u not in kit["overrides"][c]
                                        for u in kit["drawn"][c]))  # fmt: skip
    drawn = next(u for u in kit["drawn"][cls] if not u.startswith("masked:") and u not in kit["overrides"][cls])
    other = next(u for u in kit["population"][cls] if u not in kit["drawn"][cls] and not u.startswith("masked:"))
    kit["drawn"][cls] = sorted({*kit["drawn"][cls]} - {drawn} | {other})
    tampered = alone / "tampered.json"
    tampered.write_text(json.dumps(kit, ensure_ascii=False), encoding="utf-8")
    res = verify(tampered)
    assert res.returncode == 1 and drawn in res.stdout and other in res.stdout, res.stdout
    assert f"class {cls}: the drawn subjects differ" in res.stdout


def test_the_command_line_announces_records_the_value_and_writes_the_kits(city, cli_runner, tmp_path):
    run = cli_runner(city["url"], tmp_path / "outbox")

    (now,) = rows(city["publisher"], "SELECT now()")[0]
    when = (now + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    code, out = run("announce-draw", "2026-RC", "--source", "福彩3D 第2026320期开奖号码, 2026-12-01",
                    "--draw-at", when.strftime("%Y-%m-%d %H:%M"))  # the city's time, no zone given
    assert code == 0 and "福彩3D 第2026320期开奖号码" in out and "record-draw-value 2026-RC" in out, out
    assert rows(city["analyst"], "SELECT draw_at FROM ops.draw_announcements WHERE draw_round = '2026-RC'")[0][0] \
        == when.replace(second=0, microsecond=0)
    code, out = run("announce-draw", "2026-RC", "--source", "another", "--draw-at", "2027-01-01 10:00")
    assert code == 1 and "公告不能更改" in out and "never changed" in out
    assert run("announce-draw", "2026-RD", "--source", "x", "--draw-at", "tomorrow")[0] == 2
    code, out = run("record-draw-value", "2026-RC", "3 7 1")
    assert code == 0 and "3 7 1" in out
    assert run("record-draw-value", "2026-RC", "3 7 1")[0] == 0  # the same value again: nothing changes
    code, out = run("record-draw-value", "2026-RC", "9 9 9")
    assert code == 1 and "cannot be changed" in out
    code, out = run("record-draw-value", "2026-RN", "1")
    assert code == 1 and "was not announced" in out
    code, out = run("draw-kits", "2026-R1")
    assert code == 0 and len(list((tmp_path / "outbox" / "inspections" / "2026-R1").glob("kit_*.json"))) > 0


def test_a_second_round_respects_the_yearly_caps(city):
    first = {(d, u) for d, u in rows(city["admin"], "SELECT department_code, uscc FROM ops.inspection_tasks")}
    announce(city["publisher"], "2026-R2", "second")
    announce(city["publisher"], "2027-R1", "third")
    again = inspection.draw(city["publisher"], city["period"], "second", draw_round="2026-R2",
                            drawn_on=DRAWN_ON + dt.timedelta(days=90))  # fmt: skip
    assert sum(r.capped for r in again) > 0
    second = rows(city["admin"], "SELECT t.department_code, t.uscc, t.grade_class, t.selection"
                                 " FROM ops.inspection_tasks t JOIN ops.inspection_plans p USING (plan_id)"
                                 " WHERE p.draw_round = '2026-R2'")  # fmt: skip
    caps = {(d, c): n for d, c, n in rows(city["admin"], "SELECT department_code, grade_class, max_per_year"
                                                         " FROM marts.dim_inspection_ratios")}  # fmt: skip
    for dept, uscc, cls, selection in second:
        if caps[(dept, cls)] == 1 and selection == "random":
            assert (dept, uscc) not in first, (dept, uscc, cls)
    # The same round again keeps its plans.
    assert {r.status for r in inspection.draw(city["publisher"], city["period"], "second",
                                              draw_round="2026-R2")} == {"exists"}  # fmt: skip
    # A new year starts afresh: nobody is capped.
    fresh = inspection.draw(city["publisher"], city["period"], "third", draw_round="2027-R1",
                            drawn_on=dt.date(2027, 1, 5))  # fmt: skip
    assert sum(r.capped for r in fresh) == 0
    with psycopg.connect(city["admin"], autocommit=True) as conn:
        conn.execute("DELETE FROM ops.inspection_plans WHERE draw_round IN ('2026-R2', '2027-R1')")


def test_a_department_short_of_inspectors_is_named_and_the_others_still_draw(city):
    dept = rows(city["admin"], "SELECT department_code FROM ops.inspection_tasks GROUP BY 1"
                               " ORDER BY count(*) DESC LIMIT 1")[0][0]  # fmt: skip
    with psycopg.connect(city["admin"]) as conn:
        conn.execute("CREATE TEMPORARY TABLE saved AS SELECT * FROM marts.dim_inspectors WHERE department_code = %s",
                     (dept,))  # fmt: skip
        conn.execute("DELETE FROM marts.dim_inspectors WHERE department_code = %s"
                     " AND inspector_id <> (SELECT min(inspector_id) FROM saved)", (dept,))  # fmt: skip
        conn.commit()
        announce(city["publisher"], "2026-R9", "short")
        try:
            with pytest.raises(inspection.DrawError, match="1 department") as err:
                inspection.draw(city["publisher"], city["period"], "short", draw_round="2026-R9", drawn_on=DRAWN_ON)
            assert f"{dept} (roster: its inspectors* file)" in str(err.value) and "at least 2" in str(err.value)
            drawn = {d for (d,) in rows(city["admin"], "SELECT DISTINCT department_code FROM ops.inspection_plans"
                                                       " WHERE draw_round = '2026-R9'")}  # fmt: skip
            assert dept not in drawn and len(drawn) >= 5
        finally:
            conn.execute("DELETE FROM marts.dim_inspectors WHERE department_code = %s", (dept,))
            conn.execute("INSERT INTO marts.dim_inspectors SELECT * FROM saved")
            conn.execute("DELETE FROM ops.inspection_plans WHERE draw_round = '2026-R9'")
            conn.commit()


def test_lists_and_the_result_form_go_back_through_the_ingest_into_grading(city):
    out = inspection_lists.write(city["publisher"], city["outbox"], "2026-R1")
    assert out and all(li.status == "written" for li in out)
    again = inspection_lists.write(city["publisher"], city["outbox"], "2026-R1")
    assert {li.status for li in again} == {"unchanged"}
    li = max(out, key=lambda x: x.tasks)
    ws = load_workbook(li.list_path).active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["任务编号", "抽查事项编码", "抽查事项名称", "统一社会信用代码"] and "检查人员" in header
    assert header == [h for _, h, *_ in publication_config.load().workbooks["inspection_list"].columns]
    assert ws.print_title_rows == "$1:$1" and ws.freeze_panes == "A2"
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert all(isinstance(r[3], str) and len(r[3]) == 18 for r in body)
    n_rows = rows(city["admin"], "SELECT count(*) FROM ops.inspection_tasks t JOIN ops.inspection_plans p"
                                 " USING (plan_id) WHERE p.draw_round = '2026-R1' AND t.department_code = %(d)s",
                  {"d": li.department_code})[0][0]  # fmt: skip
    assert len(body) == n_rows
    # The clerk fills in the form and drops it into the inbox.
    wb = load_workbook(li.form_path)
    form = wb.active
    header = [c.value for c in form[1]]
    assert header == [h for _, h, *_ in inspection_lists.form_columns()]
    assert header == [c.headers[0] for c in sources()["inspection_result"].columns]
    at = {h: i for i, h in enumerate(header)}
    assert header.index("事项名称") == header.index("事项编码") + 1, "the matter's name beside its code"
    names = dict(rows(city["admin"], "SELECT matter_code, matter_name FROM marts.dim_inspection_matters"
                                     " WHERE department_code = %(d)s", {"d": li.department_code}))  # fmt: skip
    assert all(r[at["事项名称"]].value == names[r[at["事项编码"]].value] for r in form.iter_rows(min_row=2))
    lists = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv for dv in form.data_validations.dataValidation}
    result_dv, date_dv = lists[_letter(at["检查结果"])], lists[_letter(at["检查日期"])]
    assert result_dv.type == "list" and result_dv.showErrorMessage and result_dv.errorStyle == "stop", \
        "the drop-down refuses a typed value that is not one of the four results"
    assert date_dv.type == "date" and date_dv.showErrorMessage
    assert form.cell(row=2, column=at["检查日期"] + 1).number_format == "yyyy-mm-dd"
    for i, (_, heading, _width, kind) in enumerate(inspection_lists.form_columns(), start=1):
        if kind != "wrap":  # every column wide enough for its content
            longest = max(len(str(c.value or "")) for c in form[_letter(i - 1)][1:])
            assert form.column_dimensions[_letter(i - 1)].width >= longest, heading
    assert str(form.page_setup.paperSize) == form.PAPERSIZE_A4 and "&P" in form.oddFooter.center.text
    body = list(form.iter_rows(min_row=2))
    # First only three results come back: the other rows are not yet returned, neither loaded nor rejected.
    for row in body[:3]:
        row[at["检查日期"]].value = dt.date(2026, 3, 20)
        row[at["检查结果"]].value = inspection_lists.results()[0]
    rel = f"departments/{li.department_code}/{li.form_path.name}"
    (city["inbox"] / rel).parent.mkdir(parents=True, exist_ok=True)
    wb.save(city["inbox"] / rel)
    loader = libpq_url(url_for("loader", city["url"]))
    after = last_batch(loader)
    first = load_file(loader, rel, inbox=city["inbox"], archive_dir=city["archive"])
    assert (first.status, first.rows_in, first.rows_loaded, first.rows_rejected, first.rows_not_returned) == (
        "loaded", 3, 3, 0, len(body) - 3)
    [receipt] = write_since(loader, after, city["outbox"])
    sheet = load_workbook(receipt.path).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert cells[0].startswith(f"已装载 3 行；另有 {len(body) - 3} 行尚未回填")
    assert f"尚未回填 {len(body) - 3} 行" in " ".join(cells)
    assert "尚未回填的行" in " ".join(cells) and str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    # Then the form comes back whole (the three again among them): every row loads, none twice.
    filled = 0
    for i, row in enumerate(body, start=1):
        row[at["检查日期"]].value = dt.date(2026, 3, 20)
        row[at["检查结果"]].value = inspection_lists.results()[2] if i % 5 == 0 else inspection_lists.results()[0]
        filled += 1
    wb.save(city["inbox"] / rel)
    loaded = load_file(loader, rel, inbox=city["inbox"], archive_dir=city["archive"])
    assert (loaded.status, loaded.rows_in, loaded.rows_loaded, loaded.rows_rejected, loaded.rows_not_returned) == (
        "loaded", filled, filled, 0, 0)
    res = run_dbt(["build", "--quiet", "-s", "+fct_inspection_outcomes", "int_indicator_records"],
                  base_url=city["url"], capture=True, project=city["project"])  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    back = rows(city["admin"], "SELECT count(*), count(*) FILTER (WHERE result = 'penalised')"
                               " FROM marts.fct_inspection_outcomes WHERE department_code = %(d)s"
                               " AND inspection_date = DATE '2026-03-20'", {"d": li.department_code})[0]  # fmt: skip
    assert back[0] == filled and back[1] == filled // 5
    # Problems found feed the next grading (indicator inspection_problems); clean results do not.
    feeds = rows(city["admin"], "SELECT count(*) FROM intermediate.int_indicator_records"
                                " WHERE indicator_source = 'inspection_problems' AND batch_id = %(b)s",
                 {"b": loaded.batch_id})  # fmt: skip
    assert feeds[0][0] == filled // 5
    city["returned"] = li.department_code


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def test_results_are_published_at_the_departments_level_and_overdue_ones_listed(city, tmp_path):
    department = city.get("returned")
    assert department, "runs after the form test"
    late = inspection_lists.overdue(city["analyst"], today=dt.date(2026, 6, 1))
    public = {d for (d,) in rows(city["admin"], "SELECT department_code FROM marts.dim_inspection_settings"
                                                " WHERE plan_disclosure = 'public'")}  # fmt: skip
    if department in public:
        assert late and {o.department_code for o in late} == {department}
        # 20 working days after Friday 2026-03-20: 2026-04-20 (Qingming, 4-6 April, is off).
        assert {o.deadline for o in late} == {dt.date(2026, 4, 20)}
    assert not inspection_lists.overdue(city["analyst"], today=dt.date(2026, 4, 20))
    assert run_checkpoint(city["publisher"], "marts").success
    shutil.rmtree(tmp_path / "outbox", ignore_errors=True)
    publish(city["publisher"], outbox=tmp_path / "outbox", spool=tmp_path / "spool", as_of=dt.date(2026, 3, 25))
    shown = rows(city["admin"], "SELECT count(*), count(*) FILTER (WHERE result_label IS NOT NULL)"
                                " FROM publish.public_inspections")[0]  # fmt: skip
    expected = rows(city["admin"], "SELECT count(*), count(*) FILTER (WHERE result IS NOT NULL) FROM"
                                   " marts.fct_inspection_outcomes WHERE disclosure_level = 'public'")[0]  # fmt: skip
    assert shown == expected and shown[0] > 0
    internal = rows(city["admin"], "SELECT count(*) FROM publish.inspections WHERE disclosure_level = 'internal'")
    assert internal[0][0] == rows(city["admin"], "SELECT count(*) FROM marts.fct_inspection_outcomes"
                                                 " WHERE disclosure_level = 'internal'")[0][0] > 0  # fmt: skip
    columns = {c for (c,) in rows(city["admin"], "SELECT column_name FROM information_schema.columns WHERE"
                                                 " table_schema = 'publish' AND table_name = 'public_inspections'")}
    assert "grade_class" not in columns and "result_label" in columns
    assert not inspection_lists.overdue(city["analyst"], today=dt.date(2026, 6, 1))

"""Records are deduplicated on their business key, on a small generated city graded for real.

A department sends a penalties file, then re-exports the same rows under another file name, with
CRLF line endings and its columns in another order, one penalty changed (its fine). Byte for byte
the files differ, so the loader keeps both batches; dbt must count each penalty once: one deduction
and one source record per penalty in the grade's explanation, one row per penalty in
``fct_shared_records``. The changed penalty is graded and shared in its newer version, and the
older one stays in raw and in ``stg_raw__record_versions``. Two penalties without a decision number
are two records, not one. Every staging model does this in one sort of its raw rows.
"""

from __future__ import annotations

import csv
import json

import pytest
from conftest import dbt_build
from psycopg import sql
from sql import rows

from credit_platform.grading.periods import close_period
from credit_platform.ingest.config import sources
from credit_platform.ingest.loader import load_file
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

DEPT, INDUSTRY, PERIOD = "scjgj", "food_drug", "2025-H2"
FIRST = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_WFXW", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
REEXPORT = ["CF_JDRQ", "CF_WSH", "CF_XDR_SHXYM", "CF_XDR_MC", "CF_CFJG", "CF_NR_FK", "CF_CFLB", "CF_WFXW", "CF_XDR_LB"]


@pytest.fixture(scope="module")
def city(graded_city):
    with graded_city("recordkeys") as c:
        yield c


STAGING = {"province_evaluations": "stg_province__evaluations", "subject_register": "stg_registry__subjects",
           "inspector_rosters": "stg_departments__inspectors"}  # fmt: skip


def test_every_row_of_a_city_sent_once_is_a_record_of_its_own(city):
    """The generated city sends each record once: a key too coarse would merge two of them.
    Execution records are reported after grading (they name the measures a grade brought), and
    objections and repair applications after a grade is known, so the generated city has none:
    test_measure_execution.py and test_objections.py load and key them."""
    counts = {}
    for source in sources().values():
        table = source.table.removeprefix("raw.")
        if table in ("measure_executions", "objections", "repair_applications"):
            continue
        model = STAGING.get(table, f"stg_departments__{table}")
        counts[table] = rows(city["admin"], sql.SQL(
            "SELECT (SELECT count(*) FROM {} r WHERE NOT EXISTS (SELECT 1 FROM ops.load_batches b"
            " WHERE b.batch_id = r.batch_id AND b.status = 'quarantined')), (SELECT count(*) FROM {})").format(
            sql.Identifier("raw", table), sql.Identifier("staging", model)))[0]  # fmt: skip
    assert all(n > 0 for n, _ in counts.values()), counts
    assert {t: n for t, (n, _) in counts.items()} == {t: m for t, (_, m) in counts.items()}


def _write(path, header: list[str], records: list[dict], *, crlf: bool) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        for r in records:
            w.writerow([r[h] for h in header])


def _penalty(uscc: str, number: str, fine: str, date: str = "2025-10-15") -> dict:
    return {"CF_XDR_MC": "测试主体", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": uscc, "CF_WSH": number,
            "CF_WFXW": "未按规定公示年度报告", "CF_CFLB": "罚款", "CF_NR_FK": fine, "CF_JDRQ": date,
            "CF_CFJG": "怀仁市市场监督管理局"}  # fmt: skip


def test_a_reexport_counts_once_and_a_changed_record_supersedes_the_old(city):
    admin, inbox, archive = city["admin"], city["inbox"], city["archive"]
    loader = libpq_url(url_for("loader", city["url"]))
    # subjects graded in the department's industry with no penalty counted yet
    clean = [u for (u,) in rows(admin,
        "SELECT uscc FROM marts.fct_grade_explanations WHERE industry_code = %s AND evaluation_period = %s"
        " AND indicator_code = 'penalties' AND item_count = 0 ORDER BY uscc LIMIT 4", (INDUSTRY, PERIOD))]  # fmt: skip
    assert len(clean) == 4
    a, b, c, d = clean
    first = [_penalty(a, "怀市监罚〔2025〕DUP-1号", "0.5"), _penalty(b, "怀市监罚〔2025〕DUP-2号", "0.5"),
             _penalty(c, "怀市监罚〔2025〕DUP-3号", "0.5"),
             _penalty(d, "", "0.5"), _penalty(d, "", "0.5")]  # fmt: skip
    again = [dict(r) for r in first[:3]]
    again[2]["CF_NR_FK"] = "0.8"  # the changed record
    folder = inbox / "departments" / DEPT
    _write(folder / "penalties_2025-10.csv", FIRST, first, crlf=False)
    _write(folder / "penalties_2025-10_reexport.csv", REEXPORT, again, crlf=True)
    batches = []
    for name in ("penalties_2025-10.csv", "penalties_2025-10_reexport.csv"):
        result = load_file(loader, f"departments/{DEPT}/{name}", inbox=inbox, archive_dir=archive)
        assert result.status == "loaded", result
        batches.append(result.batch_id)
    old, new = batches
    dbt_build(city)

    # Grading: one source record and one deduction per penalty.
    lines = {u: (n, ids, pts) for u, n, ids, pts in rows(admin,
        "SELECT uscc, item_count, source_record_ids, points FROM marts.fct_grade_explanations"
        " WHERE industry_code = %s AND evaluation_period = %s AND indicator_code = 'penalties'"
        " AND uscc = ANY(%s)", (INDUSTRY, PERIOD, clean))}  # fmt: skip
    assert {u: lines[u][0] for u in (a, b, c)} == {a: 1, b: 1, c: 1}, lines
    assert lines[d][0] == 2, "two penalties without a decision number are two records"
    assert lines[a][1] == [f"raw.penalties/{old}/1"]  # the unchanged record keeps its first delivery
    assert lines[c][1] == [f"raw.penalties/{new}/3"]  # the changed record: its newer version
    assert lines[a][2] == lines[b][2] == lines[c][2]

    # Publication: one shared record per penalty, the changed one with its new fine.
    shared = rows(admin,
        "SELECT decision_number, fine_amount_10k_yuan, batch_id FROM marts.fct_shared_records"
        " WHERE record_type = 'penalty' AND decision_number LIKE %s ORDER BY 1", ("%DUP-%",))  # fmt: skip
    assert [(n, float(f), bt) for n, f, bt in shared] == [
        ("怀市监罚〔2025〕DUP-1号", 0.5, old),
        ("怀市监罚〔2025〕DUP-2号", 0.5, old),
        ("怀市监罚〔2025〕DUP-3号", 0.8, new),
    ]

    # The older versions stay in raw, and stg_raw__record_versions says what became of each.
    assert rows(admin, "SELECT count(*) FROM raw.penalties WHERE batch_id = ANY(%s)", ([old, new],)) == [(8,)]
    versions = rows(admin,
        "SELECT source_record_id, version_status, current_record_id, key_deliveries"
        " FROM staging.stg_raw__record_versions WHERE raw_table = 'penalties' AND batch_id = ANY(%s)"
        " ORDER BY batch_id, row_number", ([old, new],))  # fmt: skip
    assert versions == [
        (f"raw.penalties/{old}/1", "current", f"raw.penalties/{old}/1", 2),
        (f"raw.penalties/{old}/2", "current", f"raw.penalties/{old}/2", 2),
        (f"raw.penalties/{old}/3", "superseded", f"raw.penalties/{new}/3", 2),
        (f"raw.penalties/{new}/1", "repeated", f"raw.penalties/{old}/1", 2),
        (f"raw.penalties/{new}/2", "repeated", f"raw.penalties/{old}/2", 2),
        (f"raw.penalties/{new}/3", "current", f"raw.penalties/{new}/3", 2),
    ]


def _window_pipeline(plan: dict):
    """The nodes from the top of a staging view's plan down to the first join or scan: the windows
    and the sorts they read (a merge anti-join below them may sort the load batches: not counted)."""
    node = plan
    while node["Node Type"] in ("Subquery Scan", "WindowAgg", "Sort", "Incremental Sort", "Result"):
        yield node
        if len(node.get("Plans", [])) != 1:
            break
        node = node["Plans"][0]
    yield node


def test_each_staging_model_sorts_its_raw_rows_once(city):
    """Deduplication is windows over one sort of the raw rows: no second sort, no subplan per row."""
    views = [v for (v,) in rows(city["admin"],
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'staging'"
        " AND table_name LIKE 'stg\\_%%' AND table_name NOT LIKE 'stg\\_ops\\_\\_%%'"
        " AND table_name NOT IN ('stg_raw__record_versions', 'stg_raw__batch_subjects') ORDER BY 1")]  # fmt: skip
    assert len(views) == 18
    for view in views:
        ((plan,),) = rows(
            city["admin"], sql.SQL("EXPLAIN (FORMAT JSON) SELECT * FROM {}").format(sql.Identifier("staging", view))
        )
        nodes = list(_window_pipeline(plan[0]["Plan"]))
        sorts = [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")]
        assert len(sorts) == 1, (view, [n["Node Type"] for n in nodes])
        assert "SubPlan" not in json.dumps(plan), view


def _state(admin: str) -> list[tuple]:
    return rows(admin,
        "SELECT g.uscc, g.industry_code, g.evaluation_period, g.score, g.grade, e.ids"
        " FROM marts.fct_industry_credit_grades g"
        " LEFT JOIN (SELECT uscc, industry_code, evaluation_period, array_agg(r ORDER BY r) AS ids"
        " FROM marts.fct_grade_explanations, unnest(source_record_ids) r GROUP BY 1, 2, 3) e"
        " USING (uscc, industry_code, evaluation_period) ORDER BY 1, 2, 3")  # fmt: skip


def test_a_whole_department_reexported_after_closing_moves_no_grade(city):
    """A department re-sends all its penalties (another name, CRLF, columns reversed) after a period
    closed: no grade and no explanation moves, in the closed period or the open one."""
    admin, inbox, archive = city["admin"], city["inbox"], city["archive"]
    loader = libpq_url(url_for("loader", city["url"]))
    ((dept, batch_ids),) = rows(admin,
        "SELECT department_code, array_agg(DISTINCT batch_id) FROM raw.penalties"
        " WHERE source_file NOT LIKE '%%2025-10%%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")  # fmt: skip
    in_raw = {c for (c,) in rows(admin, "SELECT column_name FROM information_schema.columns"
                                        " WHERE table_schema = 'raw' AND table_name = 'penalties'")}  # fmt: skip
    columns = [c for c in sources()["penalty"].columns if c.name in in_raw]
    cells = rows(admin,  # the rows as they are in raw; an unnumbered penalty is a record of its own each time
        sql.SQL("SELECT {} FROM raw.penalties WHERE batch_id = ANY(%s) AND ops.to_code(decision_number) IS NOT NULL"
                " ORDER BY batch_id, row_number").format(
            sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)), (batch_ids,))  # fmt: skip
    assert len(cells) > 20
    header = [c.headers[0] for c in reversed(columns)]
    records = [dict(zip(header, reversed(["" if v is None else str(v) for v in r]), strict=True)) for r in cells]
    close_period(admin, "2025-H1", requested_by="数据组")
    dbt_build(city)
    before = _state(admin)

    _write(inbox / "departments" / dept / "penalties_resend_all.csv", header, records, crlf=True)
    result = load_file(loader, f"departments/{dept}/penalties_resend_all.csv", inbox=inbox, archive_dir=archive)
    assert result.status == "loaded" and result.rows_loaded == len(cells), result
    dbt_build(city)
    assert _state(admin) == before, "a re-export moved a grade or an explanation"
    assert rows(admin, "SELECT DISTINCT version_status FROM staging.stg_raw__record_versions WHERE batch_id = %s",
                (result.batch_id,)) == [("repeated",)]  # fmt: skip


def test_a_record_changed_after_closing_keeps_its_old_version_in_the_closed_period(city):
    """A penalty counted in closed 2025-H1 is re-sent changed (another fine, another date) after the
    closing: 2025-H1 keeps its grades and explanations (the version current at its cutoff), the open
    period counts the new version, and the old one is listed as superseded."""
    admin, inbox, archive = city["admin"], city["inbox"], city["archive"]
    loader = libpq_url(url_for("loader", city["url"]))
    if not rows(admin, "SELECT 1 FROM ops.period_closures WHERE evaluation_period = '2025-H1'"):
        close_period(admin, "2025-H1", requested_by="数据组")
    dbt_build(city)
    before = [s for s in _state(admin) if s[2] == "2025-H1"]
    uscc, record = rows(admin,  # a penalty that counts in the closed period, and in the open one
        "SELECT h1.uscc, r FROM marts.fct_grade_explanations h1, unnest(h1.source_record_ids) r"
        " WHERE h1.evaluation_period = '2025-H1' AND h1.indicator_code = 'penalties' AND r IN ("
        "  SELECT unnest(source_record_ids) FROM marts.fct_grade_explanations"
        "  WHERE evaluation_period = '2025-H2' AND indicator_code = 'penalties')"
        " ORDER BY 1, 2 LIMIT 1")[0]  # fmt: skip
    _, batch_id, row_number = record.removeprefix("raw.").split("/")
    in_raw = {c for (c,) in rows(admin, "SELECT column_name FROM information_schema.columns"
                                        " WHERE table_schema = 'raw' AND table_name = 'penalties'")}  # fmt: skip
    columns = [c for c in sources()["penalty"].columns if c.name in in_raw]
    (cells,) = rows(admin, sql.SQL("SELECT {} FROM raw.penalties WHERE batch_id = %s AND row_number = %s").format(
        sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)), (int(batch_id), int(row_number)))  # fmt: skip
    changed = {c.headers[0]: "" if v is None else str(v) for c, v in zip(columns, cells, strict=True)}
    changed["CF_NR_FK"], changed["CF_JDRQ"] = "99", "2025-10-20"  # fined far more, and dated after 2025-H1
    ((dept,),) = rows(admin, "SELECT department_code FROM ops.load_batches WHERE batch_id = %s", (int(batch_id),))
    _write(inbox / "departments" / dept / "penalties_corrected.csv", list(changed), [changed], crlf=False)
    result = load_file(loader, f"departments/{dept}/penalties_corrected.csv", inbox=inbox, archive_dir=archive)
    assert result.status == "loaded" and result.rows_loaded == 1, result
    dbt_build(city)

    assert [s for s in _state(admin) if s[2] == "2025-H1"] == before, "the closed period moved"
    (h2,) = rows(admin,
        "SELECT source_record_ids FROM marts.fct_grade_explanations WHERE evaluation_period = '2025-H2'"
        " AND indicator_code = 'penalties' AND uscc = %s AND %s = ANY(source_record_ids)",
        (uscc, f"raw.penalties/{result.batch_id}/1"))  # fmt: skip
    assert record not in h2[0], "the open period still counts the old version"
    assert rows(admin, "SELECT version_status, current_record_id FROM staging.stg_raw__record_versions"
                       " WHERE source_record_id = %s", (record,)) == [
        ("superseded", f"raw.penalties/{result.batch_id}/1")]  # fmt: skip
    assert rows(admin, "SELECT batch_id FROM marts.fct_shared_records WHERE record_type = 'penalty'"
                       " AND department_code = %s AND decision_number = %s AND uscc = %s",
                (dept, changed["CF_WSH"], uscc)) == [(result.batch_id,)]  # fmt: skip

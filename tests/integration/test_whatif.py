"""``credit-platform what-if``: a proposed catalogue is graded in scratch schemas, the real ones stay as they are.

The warehouse is graded for real (dbt build) from generated subjects in two industries; the
what-if moves 20 points of commerce's weight from the province evaluation to penalties (the sum
stays 100). Every relation of the real dbt layers must be byte for byte what it was (same rows,
same relation, not even rebuilt), the what-if grades must differ in commerce only, and the
subjects reported as changing class must be exactly those a direct comparison of the two marts
finds. A catalogue whose weights do not sum to 100 is refused by the seed's own dbt test, with
the industry and its total in the message, and nothing is graded.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from credit_platform import cli, uscc
from credit_platform import grade_levels as levels
from credit_platform.grading import whatif
from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.settings import paths
from credit_platform.warehouse.urls import libpq_url, url_for

pytestmark = pytest.mark.integration

PERIOD = "2025-H2"
INDUSTRIES = {"commerce": "swj", "transport": "jtj"}  # industry -> its department
GRADES = [*levels.GRADES, None]  # seed grade_levels
CATEGORIES = [("警告", "0"), ("罚款", "0.3"), ("罚款", "5"), ("罚款", "30"), ("责令停产停业", "0")]


def _city(seed: int = 20260101) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    tables: dict[str, list[dict]] = {k: [] for k in ("subject_register", "supervision_scopes", "province_evaluations",
                                                     "penalties", "commendations")}  # fmt: skip
    n = 0
    for industry, department in INDUSTRIES.items():
        for _ in range(90):
            n += 1
            code = uscc.make("91", "140681", f"MA0W{n:04d}")
            add = {k: v.append for k, v in tables.items()}
            add["subject_register"]({"uscc": code, "subject_name": f"假设主体{n}", "registration_status": "存续"})
            add["supervision_scopes"]({"department_code": department, "uscc": code, "industry_code": industry})
            if (grade := rng.choice(GRADES)) is not None:
                add["province_evaluations"]({"uscc": code, "grade": grade, "evaluation_date": "2025-06-30"})
            for k in range(rng.choice([0, 0, 1, 2, 3, 5])):
                category, fine = rng.choice(CATEGORIES)
                day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                add["penalties"]({"department_code": "scjgj", "uscc": code, "decision_number": f"W{n}-{k}",
                                  "penalty_category": category, "fine_amount": fine, "decision_date": day})  # fmt: skip
            for _ in range(rng.choice([0, 0, 1])):
                add["commendations"]({"department_code": "fgj", "uscc": code, "commendation_level": "市级",
                                      "commendation_date": f"2025-{rng.randint(1, 12):02d}-15"})  # fmt: skip
    return tables


@pytest.fixture(scope="module")
def graded(migrated_database, tmp_path_factory):
    """A warehouse graded for real, as the administrator's URL."""
    with migrated_database("whatif") as url:
        with psycopg.connect(libpq_url(url)) as conn:
            # a batch the raw quality gate passed (status loaded): staging takes only those
            conn.execute("INSERT INTO ops.load_batches (source, source_file, status)"
                         " VALUES ('generated', 'generated', 'loaded')")
            for table, rows in _city().items():
                for i, row in enumerate(rows, start=1):
                    row = {"batch_id": 1, "source_file": f"generated/{table}.csv", "row_number": i, **row}
                    conn.execute(sql.SQL("INSERT INTO raw.{} ({}) VALUES ({})").format(
                        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
                        sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))  # fmt: skip
        # The real grading, as the grading DAG builds it; the unit tests (of the code, not the data) are
        # test_dbt's business. Its own target folder: dbt_project/target is what others' runs use.
        own = tmp_path_factory.mktemp("dbt")
        res = run_dbt(["build", "--quiet", "--exclude-resource-type", "unit_test", "--target-path", str(own / "target"),
                       "--log-path", str(own / "logs")], base_url=url, capture=True)  # fmt: skip
        assert res.returncode == 0, res.stdout[-4000:]
        yield url


@pytest.fixture
def cli_env(graded, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", graded)
    monkeypatch.setenv("PGPASSFILE", str(paths().warehouse_passfile))  # the scratch folder has none
    monkeypatch.setenv("CREDIT_LOCAL_DIR", str(tmp_path / "local"))
    return graded


def _catalogue(target: Path, change) -> Path:
    """A copy of the catalogue in force with ``change(row)`` applied to each row."""
    with (paths().dbt_project / "seeds" / "indicator_catalogue.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        change(r)
    with target.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return target


def _move_commerce_weight(r: dict) -> None:
    if r["industry_code"] == "commerce" and r["indicator_code"] in ("province_evaluation", "penalties"):
        r["weight"] = str(int(r["weight"]) + (-20 if r["indicator_code"] == "province_evaluation" else 20))


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every relation of the real dbt layers: its oid (a rebuild changes it) and the md5 of its ordered rows."""
    out = {}
    with psycopg.connect(libpq_url(url)) as conn:
        rels = conn.execute(
            "SELECT c.oid, n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY 2, 3",
            (list(whatif.LAYERS),),
        ).fetchall()
        for oid, schema, name in rels:
            digest = conn.execute(sql.SQL(
                "SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM {}.{} AS x"
            ).format(sql.Identifier(schema), sql.Identifier(name))).fetchone()[0]  # fmt: skip
            out[f"{schema}.{name}"] = (oid, digest)
    assert "marts.fct_industry_credit_grades" in out
    return out


def _scratch_schemas(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {s for (s,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'whatif\\_%'")}


def test_a_file_that_is_not_the_catalogue_is_refused_with_its_columns_named(cli_env, tmp_path, capsys):
    def misspell(r):
        r["weigth"] = r.pop("weight")
        r.pop("reasoning")

    bad = _catalogue(tmp_path / "bad.csv", misspell)
    before = _fingerprint(cli_env)
    assert cli.main(["what-if", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "missing columns 缺少列: weight, reasoning" in err and "unknown columns 多余列: 'weigth'" in err
    assert _fingerprint(cli_env) == before and _scratch_schemas(cli_env) == set()


def test_a_moved_weight_changes_the_what_if_grades_of_that_industry_only(cli_env, tmp_path, capsys):
    proposed = _catalogue(tmp_path / "proposed.csv", _move_commerce_weight)
    out = tmp_path / "changed.csv"
    before = _fingerprint(cli_env)

    assert cli.main(["what-if", str(proposed), "--keep", "--out", str(out)]) == 0
    report = capsys.readouterr().out
    print(report)  # shown with -s: the table an analyst sees, and the time it took

    assert _fingerprint(cli_env) == before, "the real staging, intermediate and marts must not change"
    assert {"whatif_staging", "whatif_intermediate", "whatif_marts"} <= _scratch_schemas(cli_env)
    with psycopg.connect(libpq_url(cli_env)) as conn:
        moved = conn.execute(
            "SELECT industry_code, count(*) FILTER (WHERE b.score IS DISTINCT FROM a.score),"
            " count(*) FILTER (WHERE b.grade IS DISTINCT FROM a.grade), count(*)"
            " FROM marts.fct_industry_credit_grades AS b"
            " FULL JOIN whatif_marts.fct_industry_credit_grades AS a USING (uscc, industry_code, evaluation_period)"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
        expected = {(u, i, cb, ca) for u, i, cb, ca in conn.execute(
            "SELECT uscc, industry_code, b.grade_class, a.grade_class FROM marts.fct_industry_credit_grades AS b"
            " JOIN whatif_marts.fct_industry_credit_grades AS a USING (uscc, industry_code, evaluation_period)"
            " WHERE evaluation_period = %s AND a.grade_class <> b.grade_class", (PERIOD,))}  # fmt: skip
        seed_weights = dict(conn.execute(
            "SELECT indicator_code, weight FROM whatif_staging.indicator_catalogue WHERE industry_code = 'commerce'"
        ).fetchall())  # fmt: skip
    by_industry = {i: (scores, grades, n) for i, scores, grades, n in moved}
    assert set(by_industry) == set(INDUSTRIES)
    assert by_industry["transport"][:2] == (0, 0), "an industry whose weights did not move keeps every score and grade"
    assert by_industry["commerce"][0] > by_industry["commerce"][2] * 0.8  # nearly every commerce score moves
    assert seed_weights["province_evaluation"] == 18 and seed_weights["penalties"] == 45
    assert expected, "the test data must make some subject change class"
    assert {i for _, i, _, _ in expected} == {"commerce"}

    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["统一社会信用代码"], r["行业代码"], r["原等级类别"], r["新等级类别"]) for r in rows} == expected
    assert len(rows) == len(expected) and all(r["主体名称"].startswith("假设主体") for r in rows)
    assert f"period 评价周期 {PERIOD}" in report and f"Subjects whose class changes: {len(expected)}" in report
    assert str(out) in report and "Kept for querying" in report
    # kept, the what-if grades are readable by analysts like the real ones
    with psycopg.connect(libpq_url(url_for("analyst", cli_env))) as conn:
        assert conn.execute("SELECT count(*) FROM whatif_marts.fct_industry_credit_grades").fetchone()[0] > 0


def test_weights_that_do_not_sum_to_100_fail_with_the_industry_named_and_grade_nothing(cli_env, tmp_path, capsys):
    def heavier(r):
        if r["industry_code"] == "transport" and r["indicator_code"] == "penalties":
            r["weight"] = str(int(r["weight"]) + 5)

    bad = _catalogue(tmp_path / "heavier.csv", heavier)
    before = _fingerprint(cli_env)
    assert cli.main(["what-if", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "catalogue_weights_sum_to_100: fail, 1 failing row(s)" in err
    assert "industry_code=transport" in err and "total_weight=105" in err
    assert "nothing was graded" in err
    assert _fingerprint(cli_env) == before
    assert _scratch_schemas(cli_env) == set(), "without --keep the scratch schemas are dropped, failed or not"


def test_without_real_grades_it_asks_for_the_grading_first(migrated_database, tmp_path, monkeypatch, capsys):
    with migrated_database("whatif_empty") as url:
        monkeypatch.setenv("WAREHOUSE_URL", url)
        monkeypatch.setenv("PGPASSFILE", str(paths().warehouse_passfile))
        monkeypatch.setenv("CREDIT_LOCAL_DIR", str(tmp_path))
        proposed = _catalogue(tmp_path / "proposed.csv", _move_commerce_weight)
        assert cli.main(["what-if", str(proposed)]) == 1
        assert "run the grading first" in capsys.readouterr().err
        assert _scratch_schemas(url) == set()

"""The raw tables an open period's new batches are searched in are those grading counts.

An open period is computed again only for the subjects the batches since its last build touch
(``int_open_period_changes``), found in the raw tables the macro ``graded_raw_tables`` lists. A raw
table that feeds the models graded by period but is missing from that list would let a batch of it
change a grade without the subject being computed again. This test walks the models' ``ref`` calls
from the seven models graded by period down to staging and compares the raw tables found there with
the list.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "dbt_project" / "models"
MACRO = ROOT / "dbt_project" / "macros" / "graded_periods.sql"
REF = re.compile(r"ref\(\s*'([a-z0-9_]+)'\s*\)")
RAW = re.compile(
    r"(?:latest_records|raw_rows|record_versions)\(\s*'([a-z_]+)'\s*\)"
    r"|source\(\s*'raw'\s*,\s*'([a-z_]+)'\s*\)"
)
# the bookkeeping of grading in part: it reads every graded table by its own list
BOOKKEEPING = {"int_open_period_changes"}


def _sql() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in MODELS.rglob("*.sql")}


def _graded_models(sql: dict[str, str]) -> set[str]:
    return {name for name, text in sql.items() if "graded_periods_pre_hook(" in text}


def _listed() -> set[str]:
    text = MACRO.read_text(encoding="utf-8")
    body = text[text.index("macro graded_raw_tables()") :]
    return set(re.findall(r"'([a-z_]+)'", body[: body.index("endmacro")]))


def _upstream_raw_tables(sql: dict[str, str], start: set[str]) -> set[str]:
    seen, todo, tables = set(), list(start), set()
    while todo:
        name = todo.pop()
        if name in seen or name in BOOKKEEPING or name not in sql:  # a seed has no SQL
            continue
        seen.add(name)
        tables |= {a or b for a, b in RAW.findall(sql[name])}
        todo.extend(REF.findall(sql[name]))
    return tables


def test_the_seven_models_graded_by_period_are_found():
    assert len(_graded_models(_sql())) == 7


def test_every_raw_table_upstream_of_grading_is_searched_for_touched_subjects():
    sql = _sql()
    assert _upstream_raw_tables(sql, _graded_models(sql)) == _listed()


def test_the_walk_finds_a_table_added_upstream():
    sql = _sql()
    sql["int_indicator_records"] += "\nunion all select uscc from {{ ref('stg_departments__objections') }}"
    assert "objections" in _upstream_raw_tables(sql, _graded_models(sql)) - _listed()

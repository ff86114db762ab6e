"""The business keys dbt deduplicates records on are the ``key:`` entries of ``sources.yml``.

The loader's source configuration names, per source, the columns that identify one record; dbt
reads its own copy (the var ``record_keys`` of ``dbt_project.yml``, used by the macro
``latest_records``). These tests keep the two equal and make sure that every staging model of a
raw table goes through ``latest_records`` for its own table, so a key cannot drift or be skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "plugins" / "credit_platform" / "ingest" / "sources.yml"
DBT = ROOT / "dbt_project"
STAGING = DBT / "models" / "staging"
CALL = re.compile(r"\{\{\s*(latest_records|raw_rows|record_versions)\(\s*'([a-z_]+)'\s*\)\s*\}\}")


@pytest.fixture(scope="module")
def sources() -> dict:
    return yaml.safe_load(SOURCES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dbt_keys() -> dict:
    return yaml.safe_load((DBT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]["record_keys"]


def _table(spec: dict) -> str:
    return spec["table"].removeprefix("raw.")


def test_every_source_names_a_key_of_its_own_columns(sources):
    for name, spec in sources.items():
        key = spec.get("key")
        assert key and isinstance(key, list), f"sources.yml: {name} has no key: list"
        known = set(spec["columns"]) | ({"department_code"} if spec.get("department_from_path") else set())
        assert set(key) <= known, f"sources.yml: {name}.key names no column {sorted(set(key) - known)}"
        assert len(set(key)) == len(key), f"sources.yml: {name}.key repeats a column"


def test_dbt_deduplicates_on_the_keys_of_sources_yml(sources, dbt_keys):
    assert dbt_keys == {_table(spec): spec["key"] for spec in sources.values()}


def test_every_staging_model_of_a_raw_table_keeps_the_latest_record_per_key(sources):
    calls: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(STAGING.glob("stg_*.sql")):
        for macro, table in CALL.findall(path.read_text(encoding="utf-8")):
            calls.setdefault(table, []).append((path.stem, macro))
    for name, spec in sources.items():
        table = _table(spec)
        models = [m for m, macro in calls.get(table, []) if macro == "latest_records"]
        assert len(models) == 1, f"raw.{table} ({name}): staging reads it through latest_records in {models}"
    bypass = [(table, m) for table, found in calls.items() for m, macro in found if macro == "raw_rows"]
    assert bypass == [], f"staging reads raw rows without deduplicating them: {bypass}"


REF = re.compile(r"ref\(\s*'([a-z_0-9]+)'\s*\)")
CURRENT_ONLY = re.compile(r"superseded_by_batch_id\s+is\s+null")
PERIOD_AWARE = re.compile(r"arrived_in_time\([^)]*superseded_by_batch_id")
# models that pass staging's versions on, with their superseded_by_batch_id, to their own readers
CARRIERS = {"int_penalties_classified", "int_indicator_records"}


def test_every_reader_of_staging_keeps_current_versions_or_weighs_them_per_period():
    """Staging keeps the earlier versions of a changed record for the closed periods that counted
    them: every model reading staging (or a model that carries the versions on) keeps
    superseded_by_batch_id null or passes it to arrived_in_time."""
    models = {p.stem: p.read_text(encoding="utf-8") for p in (DBT / "models").rglob("*.sql")}
    staging = {m for m, text in models.items() if m.startswith("stg_") and "latest_records(" in text}
    assert len(staging) == 18, sorted(staging)
    versioned = staging | CARRIERS
    readers = {m: text for m, text in models.items() if m not in staging and set(REF.findall(text)) & versioned}
    assert CARRIERS <= set(readers)
    unguarded = sorted(m for m, text in readers.items() if m not in CARRIERS
                       and not (CURRENT_ONLY.search(text) or PERIOD_AWARE.search(text)))  # fmt: skip
    assert unguarded == [], f"models read staging's earlier versions as if current: {unguarded}"
    for m in CARRIERS:
        assert "superseded_by_batch_id" in models[m], f"{m} drops superseded_by_batch_id"

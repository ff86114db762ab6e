"""Every mart, column and rule described: what analysts find in the dbt docs (``make docs``).

Read from the dbt manifest ``make`` compiles (``dbt_project/target/manifest.json``); when it is
missing or older than the project's files, from a ``dbt parse`` into a folder of the test's own
(no database needed). Seeds' documented columns must be their CSV header, a contracted mart's its
contract; that every documented column exists in the warehouse, for sources and marts alike, is
checked against a built warehouse in ``tests/integration/test_docs_site.py``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
MANIFEST = PROJECT / "target" / "manifest.json"

#: The rule and code-list seeds analysts change (dbt_project/README.md); each must stay documented.
RULE_SEEDS = {
    "indicator_catalogue", "grade_levels", "grade_shares", "penalty_severity", "publication_rules",
    "severity_deductions", "commendation_points", "veto_rules", "inspection_ratios", "rule_versions",
    "evaluation_periods", "industries", "departments",
}  # fmt: skip


def _newest_project_file() -> float:
    files = [PROJECT / "dbt_project.yml"]
    for folder in ["models", "seeds", "macros", "snapshots", "tests"]:
        files += [p for p in (PROJECT / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_project_file():
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    # Stale or missing: parse into a target folder of our own, never dbt_project/target (others use it).
    out = tmp_path_factory.mktemp("dbt-parse")
    dbt = Path(sys.executable).parent / "dbt"
    res = subprocess.run(
        [str(dbt) if dbt.exists() else "dbt", "parse", "--quiet", "--target-path", str(out / "target"),
         "--log-path", str(out / "logs"), "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)],
        env={**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"},
        cwd=PROJECT, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    return json.loads((out / "target" / "manifest.json").read_text(encoding="utf-8"))


def _ours(manifest: dict, resource_type: str) -> list[dict]:
    project = manifest["metadata"]["project_name"]
    return [
        n for n in manifest["nodes"].values() if n["resource_type"] == resource_type and n["package_name"] == project
    ]


def marts(manifest: dict) -> list[dict]:
    """The models of models/marts/ (and any snapshot configured into the marts schema)."""
    models = [n for n in _ours(manifest, "model") if Path(n["original_file_path"]).parts[:2] == ("models", "marts")]
    snapshots = [n for n in _ours(manifest, "snapshot") if n["config"].get("schema") == "marts"]
    return models + snapshots


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _undescribed_columns(node: dict) -> list[str]:
    return [name for name, col in node["columns"].items() if _blank(col.get("description"))]


def _report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n  " + "\n  ".join(problems)


def test_the_manifest_holds_the_marts_seeds_and_sources(manifest):
    names = {n["name"] for n in marts(manifest)}
    assert {"fct_industry_credit_grades", "dim_subjects", "dim_industries", "fct_inspection_tasks"} <= names
    assert RULE_SEEDS <= {n["name"] for n in _ours(manifest, "seed")}, "a rule seed is missing or renamed"
    assert {s["source_name"] for s in manifest["sources"].values()} >= {"raw", "ops"}


def test_every_mart_and_every_mart_column_is_described(manifest):
    problems = []
    for node in marts(manifest):
        if _blank(node["description"]):
            problems.append(f"{node['name']}: no description")
        if not node["columns"]:
            problems.append(f"{node['name']}: no columns documented")
        problems += [f"{node['name']}.{c}: no description" for c in _undescribed_columns(node)]
    assert not problems, _report(problems)


def test_a_contracted_mart_documents_exactly_its_contract(manifest):
    """Every contracted column carries a type and a description (dbt checks the SQL against the contract)."""
    problems = []
    for node in marts(manifest):
        if not node["config"].get("contract", {}).get("enforced"):
            continue
        untyped = [name for name, col in node["columns"].items() if _blank(col.get("data_type"))]
        problems += [f"{node['name']}.{c}: in the docs but not typed in the contract" for c in untyped]
    assert not problems, _report(problems)


def test_every_seed_is_described_column_by_column_as_its_csv_header(manifest):
    problems = []
    for node in _ours(manifest, "seed"):
        name = node["name"]
        with (PROJECT / node["original_file_path"]).open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        if _blank(node["description"]):
            problems.append(f"seed {name}: no description")
        documented = list(node["columns"])
        problems += [f"seed {name}.{c}: in the CSV, not documented" for c in header if c not in documented]
        problems += [f"seed {name}.{c}: documented, not in the CSV" for c in documented if c not in header]
        problems += [f"seed {name}.{c}: no description" for c in _undescribed_columns(node) if c in header]
        typed = set(node["config"].get("column_types") or {})
        problems += [
            f"seed {name}.{c}: column_types names a column not in the CSV" for c in sorted(typed - set(header))
        ]
    assert not problems, _report(problems)


def test_every_source_table_and_column_is_described(manifest):
    problems = []
    for src in manifest["sources"].values():
        label = f"source {src['source_name']}.{src['name']}"
        if _blank(src["source_description"]):
            problems.append(f"source {src['source_name']}: no description")
        if _blank(src["description"]):
            problems.append(f"{label}: no description")
        if not src["columns"]:
            problems.append(f"{label}: no columns documented")
        problems += [f"{label}.{c}: no description" for c in _undescribed_columns(src)]
    assert not problems, _report(sorted(set(problems)))


def _grain_tests(manifest: dict) -> dict[str, list[str]]:
    """Per model: the uniqueness tests on it (a column's `unique`, or `unique_combination`), as text."""
    found: dict[str, list[str]] = {}
    for node in _ours(manifest, "test"):
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node")
        if attached and meta.get("name") == "unique":
            found.setdefault(attached, []).append(f"unique({node['column_name']})")
        elif attached and meta.get("name") == "unique_combination":
            columns = (meta.get("kwargs") or {}).get("columns") or []
            found.setdefault(attached, []).append(f"unique_combination({', '.join(columns)})")
    return found


def test_every_mart_has_an_enforced_contract_and_a_test_on_its_grain(manifest):
    """Python code and publication read the marts: their columns and types are fixed, their grain checked."""
    grains = _grain_tests(manifest)
    problems = []
    for node in marts(manifest):
        if node["resource_type"] != "model":
            continue
        if not node["config"].get("contract", {}).get("enforced"):
            problems.append(f"{node['name']}: no enforced contract (config: contract: {{enforced: true}})")
        primary_key = [c for c, col in node["columns"].items()
                       if any(k.get("type") == "primary_key" for k in col.get("constraints") or [])]  # fmt: skip
        if not grains.get(node["unique_id"]) and not primary_key:
            problems.append(f"{node['name']}: no uniqueness test on its grain (unique, or unique_combination)")
    assert not problems, _report(problems)


def test_every_grain_test_names_documented_columns(manifest):
    """A unique_combination naming a column the mart does not have would fail only when built."""
    problems = []
    by_id = {n["unique_id"]: n for n in _ours(manifest, "model")}
    for uid, tests in _grain_tests(manifest).items():
        node = by_id.get(uid)
        if node is None or Path(node["original_file_path"]).parts[:2] != ("models", "marts"):
            continue
        for test in tests:
            columns = test[test.index("(") + 1 : -1].split(", ")
            problems += [f"{node['name']}: {test} names {c}, not a documented column"
                         for c in columns if c not in node["columns"]]  # fmt: skip
    assert not problems, _report(problems)


def test_every_staging_and_intermediate_model_and_documented_column_is_described(manifest):
    """Not every column of these layers is listed (most keep their source's name and meaning), but a
    model says what one row is, and a column listed in the YAML says what it means."""
    problems = []
    for node in _ours(manifest, "model"):
        layer = Path(node["original_file_path"]).parts[1]
        if layer not in ("staging", "intermediate"):
            continue
        if _blank(node["description"]):
            problems.append(f"{node['name']}: no description")
        problems += [f"{node['name']}.{c}: listed without a description" for c in _undescribed_columns(node)]
    assert not problems, _report(problems)


def test_the_overview_page_says_what_the_project_is(manifest):
    """The dbt docs open on the project's own overview (block __overview__), not dbt's default text."""
    project = manifest["metadata"]["project_name"]
    doc = manifest["docs"].get(f"doc.{project}.__overview__")
    assert doc is not None, "no {% docs __overview__ %} block in dbt_project/models/"
    text = doc["block_contents"]
    for term in ["信用分级分类监管", "raw", "staging", "intermediate", "marts", "fct_industry_credit_grades",
                 "A-", "C-", "优秀", "差", "Where to start"]:  # fmt: skip
        assert term in text, f"the overview does not mention {term!r}"

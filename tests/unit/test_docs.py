"""The repository's own documentation stays true: folders, make targets, environment variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", ["dags", "dbt_project", "expectations", "plugins", "tests"])
def test_each_top_level_folder_has_a_readme(folder):
    readme = ROOT / folder / "README.md"
    assert readme.exists() and len(readme.read_text(encoding="utf-8").strip()) > 100


def test_layout_files_exist():
    for name in ["docker-compose.yml", "pyproject.toml", "Makefile", ".ci/run", ".env.example", "README.md"]:
        assert (ROOT / name).exists(), name
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_starts_with_make_test():
    first_block = README.split("```", 2)[1]
    assert "make test" in first_block


def test_every_make_target_is_in_the_readme_and_every_readme_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.M))
    mentioned = set(re.findall(r"make (?:-s )?([a-z][a-z-]*)", README))
    assert targets - mentioned == set(), "targets missing from README"
    assert mentioned - targets == set(), "README names targets that do not exist"


def _variables_read_by_code() -> set[str]:
    names: set[str] = set()
    sources = list((ROOT / "plugins").rglob("*.py")) + list((ROOT / "dags").glob("*.py"))
    for path in sources:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"environ(?:\.get)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"environ\[\"([A-Z][A-Z0-9_]+)\"\]", text))
        names |= set(re.findall(r"env_int\(\"([A-Z][A-Z0-9_]+)\"", text))
    for path in [ROOT / "dbt_project" / "profiles.yml", ROOT / "dbt_project" / "dbt_project.yml"]:
        names |= set(re.findall(r"env_var\('([A-Z][A-Z0-9_]+)'", path.read_text(encoding="utf-8")))
    return names


def test_every_environment_variable_the_code_reads_is_documented():
    from credit_platform.warehouse.roles import ROLES

    read = _variables_read_by_code() | {r.password_env for r in ROLES.values()}
    assert read, "the scan found nothing: the patterns are broken"
    assert {v for v in read if v not in README} == set()
    env_example = (ROOT / ".env.example").read_text()
    assert {v for v in read if v.startswith("CREDIT_") and "DBT" not in v and v not in env_example} == set()


def test_the_tests_run_against_the_second_server_are_the_ones_tests_readme_lists():
    """`make test` runs the tests marked `server_version` against the second server: each file that
    uses the marker is named in tests/README.md's table, and each file named there uses it."""
    tests = ROOT / "tests"
    marked = {p.name for p in (tests / "integration").glob("test_*.py") if "mark.server_version" in p.read_text()}
    section = (tests / "README.md").read_text(encoding="utf-8").split("## Two servers", 1)[1]
    listed = set(re.findall(r"^\| `(test_[a-z_]+\.py)`", section, flags=re.M))
    assert marked and marked == listed
    makefile = (ROOT / "Makefile").read_text()
    second_pass = makefile.split('WAREHOUSE_URL="$(SECOND_PG_URL)" nice -n 10 $(BIN)/pytest', 1)[1].split("\n", 1)[0]
    assert '-m "server_version"' in second_pass
    assert "server_version:" in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("module", ["test_migrations.py", "test_roles.py", "test_personal_data.py"])
def test_migrations_grants_and_sql_functions_run_against_both_servers(module):
    text = (ROOT / "tests" / "integration" / module).read_text()
    assert re.search(r"^pytestmark = \[.*pytest\.mark\.server_version.*\]$", text, flags=re.M), module

"""The grade levels and classes have one source, seed grade_levels: every consumer reads it, and no
other file lists them again (the few literal copies that must stay are checked against it)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from credit_platform import grade_levels as levels

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "dbt_project" / "seeds" / "grade_levels.csv"


def _seed() -> tuple[list[str], list[str]]:
    with SEED.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    latest = max(r["rule_version"] for r in rows)
    rows = sorted((r for r in rows if r["rule_version"] == latest), key=lambda r: int(r["level_rank"]))
    return [r["grade"] for r in rows], list(dict.fromkeys(r["grade_class"] for r in rows))


def test_levels_are_the_seeds():
    grades, classes = _seed()
    assert list(levels.grades()) == list(levels.GRADES) == grades
    assert list(levels.classes()) == list(levels.CLASSES) == classes
    assert levels.CLASSES == tuple(classes) and set(levels.CLASSES) == set(classes)
    assert [levels.class_of(g) for g in grades] == [lv.grade_class for lv in levels.levels()]
    assert [lv.rank for lv in levels.levels()] == list(range(1, len(grades) + 1))


def test_importing_reads_nothing(monkeypatch, tmp_path):
    """The seed is read when a value is first asked for, not on import (a DAG parse imports these)."""
    import importlib

    levels._by_version.cache_clear()
    monkeypatch.setenv("CREDIT_HOME", str(tmp_path))  # no seed there
    try:
        importlib.reload(levels)
        with pytest.raises(FileNotFoundError):
            levels.grades()
    finally:
        monkeypatch.delenv("CREDIT_HOME")
        levels._by_version.cache_clear()
        importlib.reload(levels)


def test_consumers_use_the_seed():
    from credit_platform.demo import world
    from credit_platform.ingest import values
    from credit_platform.inspection import draw
    from credit_platform.quality import drift

    grades, classes = _seed()
    assert list(values.GRADES) == list(world.GRADES) == grades
    assert list(draw.CLASSES) == list(drift.CLASSES) == classes
    # the demo world's per-grade tables have one entry per level, in the seed's order
    assert len(world.GRADE_WEIGHTS) == len(grades)
    for table in (world.GRADE_TENTHS, world.PENALTY_PULL, world.COMMEND_PULL, world.INSPECTION_PULL):
        assert list(table) == grades


def test_marts_suite_checks_the_seeds_levels():
    import sys

    sys.path.insert(0, str(ROOT))
    try:
        from expectations import marts
    finally:
        sys.path.remove(str(ROOT))
    grades, classes = _seed()

    class Expectation:
        def __init__(self, **kw):
            self.kw = kw

    class Gxe:
        def __getattr__(self, name):
            return lambda **kw: (name, kw)

    class Suite:
        def __init__(self, name):
            self.items = []

        def add_expectation(self, e):
            self.items.append(e)

    class Gx:
        expectations = Gxe()
        ExpectationSuite = Suite

    suites = [v["suite"] for v in marts.build(Gx())]
    in_set = {kw["column"]: kw["value_set"] for s in suites for name, kw in s.items
              if name == "ExpectColumnValuesToBeInSet" and kw["column"] in ("grade", "grade_class")}  # fmt: skip
    assert in_set == {"grade": grades, "grade_class": classes}


def test_sql_literals_equal_the_seed():
    """Table constraints in migrations cannot join a seed: their literal class lists must equal it."""
    _grades, classes = _seed()
    found = 0
    for path in sorted((ROOT / "plugins/credit_platform/warehouse/migrations").glob("*.sql")):
        for m in re.finditer(r"grade_class\s+IN\s*\(([^)]*)\)", path.read_text(encoding="utf-8")):
            found += 1
            assert re.findall(r"'([^']*)'", m.group(1)) == classes, f"{path.name}: {m.group(0)}"
    assert found >= 2


def test_standalone_verifier_has_the_seeds_classes():
    """reference/verify_draw.py runs outside the platform (standard library only), so it keeps its
    own copy of the classes: the order the draw takes them in."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "verify_draw", ROOT / "plugins/credit_platform/inspection/reference/verify_draw.py")  # fmt: skip
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert list(mod.CLASSES) == _seed()[1]


# Files that may hold a literal list of the levels or classes: the seed itself, the checks above.
ALLOWED = {
    "dbt_project/seeds/grade_levels.csv",
    "plugins/credit_platform/inspection/reference/verify_draw.py",
    "tests/unit/test_grade_levels.py",
}
ALLOWED_DIRS = ("plugins/credit_platform/warehouse/migrations/",)


def _run(items: list[str]) -> re.Pattern:
    """Every item quoted (or, in a YAML flow list, bare), in order, separated by commas."""
    quoted = r"\s*,\s*".join(rf"""(?P<q{i}>['"]){re.escape(g)}(?P=q{i})""" for i, g in enumerate(items))
    bare = r"\[\s*" + r"\s*,\s*".join(re.escape(g) for g in items) + r"\s*\]"
    return re.compile(f"{quoted}|{bare}")


def _files():
    for folder in ("plugins", "expectations", "dags", "dbt_project", "tests"):
        for path in (ROOT / folder).rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if (path.suffix in (".py", ".yml", ".yaml", ".sql", ".csv") and path.is_file()
                    and "/target/" not in f"/{rel}" and "/dbt_packages/" not in f"/{rel}"
                    and rel not in ALLOWED and not rel.startswith(ALLOWED_DIRS)):  # fmt: skip
                yield rel, path


def test_no_copy_of_the_levels():
    grades, classes = _seed()
    patterns = {"grades": _run(grades), "classes": _run(classes)}
    copies = [f"{rel}: {what}" for rel, path in _files() for what, pattern in patterns.items()
              if pattern.search(path.read_text(encoding="utf-8", errors="replace"))]  # fmt: skip
    assert not copies, "read the levels from credit_platform.grade_levels (seed grade_levels): " + "; ".join(copies)


def test_the_scan_finds_a_copy():
    grades, classes = _seed()
    assert _run(grades).search('GRADES = ("' + '", "'.join(grades) + '")')
    assert _run(grades).search("values: ['" + "', '".join(grades) + "']")
    assert _run(grades).search("values: [" + ", ".join(grades) + "]")
    assert _run(classes).search("CLASSES = ['" + "', '".join(classes) + "']")
    assert not _run(grades).search("nine levels: " + ", ".join(grades))  # prose in a description is fine

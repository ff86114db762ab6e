"""The grade levels and classes, read from their one source: the dbt seed ``grade_levels.csv``.

The seed (``dbt_project/seeds/grade_levels.csv``) holds, per rule version, each grade with its
class (A-D), score bounds and rank (1 best). Python reads the levels from it here, dbt joins it
(``ref('grade_levels')`` / ``marts.dim_grade_levels``), and the YAML tests check against it; no
other file lists the levels. Nothing is read when this module is imported: the seed is read the
first time a value is asked for, then kept.

``GRADES`` and ``CLASSES`` are sequences that read the seed when first used, for modules that
name them at import time (``for c in CLASSES``, ``set(GRADES)``, ``rng.choice(GRADES)``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: Names of the grade classes as the letters and explanations print them.
CLASS_LABELS = {"A": "诚信", "B": "基本诚信", "C": "失信", "D": "严重失信"}


@dataclass(frozen=True)
class Level:
    grade: str  # A, A-, ... D
    grade_class: str  # A, B, C, D
    rank: int  # 1 (best) ... 9
    lower_bound: float
    upper_bound: float
    is_lower_inclusive: bool


def seed_path() -> Path:
    from credit_platform.settings import paths

    return paths().dbt_project / "seeds" / "grade_levels.csv"


@cache
def _by_version() -> dict[str, tuple[Level, ...]]:
    out: dict[str, list[Level]] = {}
    with seed_path().open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["rule_version"], []).append(Level(
                row["grade"], row["grade_class"], int(row["level_rank"]), float(row["lower_bound"]),
                float(row["upper_bound"]), row["is_lower_inclusive"].strip().lower() == "true"))  # fmt: skip
    if not out:
        raise ValueError(f"{seed_path()}: no grade levels")
    versions = {v: tuple(sorted(rows, key=lambda lv: lv.rank)) for v, rows in out.items()}
    scales = {tuple((lv.grade, lv.grade_class) for lv in rows) for rows in versions.values()}
    if len(scales) > 1:  # the bounds may change between rule versions; the levels may not
        raise ValueError(f"{seed_path()}: rule versions differ in their grades or classes")
    return versions


def levels(rule_version: str | None = None) -> tuple[Level, ...]:
    """The levels of ``rule_version`` (default: the latest in the seed), best first."""
    versions = _by_version()
    return versions[rule_version if rule_version is not None else max(versions)]


def grades() -> tuple[str, ...]:
    """The nine grades, best first: A, A-, ... D."""
    return tuple(lv.grade for lv in levels())


def classes() -> tuple[str, ...]:
    """The grade classes, best first: A, B, C, D."""
    return tuple(dict.fromkeys(lv.grade_class for lv in levels()))


def class_of(grade: str) -> str:
    return {lv.grade: lv.grade_class for lv in levels()}[grade]


class _Lazy(Sequence):
    """A tuple computed by ``make`` when first used."""

    def __init__(self, make):
        self._make = make

    def _items(self) -> tuple[str, ...]:
        return self._make()

    def __getitem__(self, i):
        return self._items()[i]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __contains__(self, value) -> bool:
        return value in self._items()

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


GRADES: Sequence[str] = _Lazy(grades)
CLASSES: Sequence[str] = _Lazy(classes)

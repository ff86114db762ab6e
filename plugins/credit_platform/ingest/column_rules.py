"""What each raw table's columns must hold, for checks outside ingest (the raw stage's suite).

This is ingest's public word on its raw tables: the suite in ``expectations/raw.py`` reads the
rules from here rather than from ``sources.yml``'s parsing (``config.py``), which stays ingest's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str  # the type sources.yml gives it: uscc, date, event_date, amount, grade, period, enum, category ...
    required: bool
    allowed: tuple[str, ...] = ()  # enum: the allowed values; category: the penalty categories of rules.yml
    allowed_by: tuple[str, dict[str, tuple[str, ...]]] | None = None  # enum: (other column, its value -> allowed)


@dataclass(frozen=True)
class RawTable:
    source: str  # the source's name in sources.yml
    table: str  # schema-qualified raw table
    columns: tuple[ColumnRule, ...]


@cache
def raw_tables() -> dict[str, RawTable]:
    """Every source's raw table and the rules on its columns, by source name."""
    from credit_platform.ingest.config import rules, sources

    categories = rules().penalty_categories
    return {
        s.name: RawTable(s.name, s.table, tuple(
            ColumnRule(c.name, c.type, c.required, categories if c.type == "category" else c.values, c.values_by)
            for c in s.columns))  # fmt: skip
        for s in sources().values()
    }

"""The source configuration (``sources.yml``): which files, which raw table, which header spellings."""

from __future__ import annotations

import fnmatch
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

import yaml

TYPES = {"text", "uscc", "event_date", "date", "amount", "score", "grade", "text_list", "category", "enum", "period"}


def header_key(text: object) -> str:
    """How headers are compared: NFKC (full-width brackets to ASCII), no spaces, case-folded."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    return "".join(s.split()).casefold()


def name_matches(name: str, pattern: str) -> bool:
    """A file name against a name glob, ignoring case (``Penalties_X.CSV`` is a ``penalties*.csv``)."""
    return fnmatch.fnmatchcase(name.casefold(), pattern.casefold())


def path_matches(relative_path: str, pattern: str) -> bool:
    """An inbox-relative path against a glob of ``sources.yml``: folders as written, the file name in any case."""
    path, glob = PurePosixPath(relative_path), PurePosixPath(pattern)
    return fnmatch.fnmatchcase(path.parent.as_posix(), glob.parent.as_posix()) and name_matches(path.name, glob.name)


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]
    type: str
    required: bool
    values: tuple[str, ...] = ()  # enum: the allowed values
    values_by: tuple[str, dict[str, tuple[str, ...]]] | None = None  # enum: (column, its value -> allowed)


@dataclass(frozen=True)
class Source:
    name: str
    table: str
    description: str
    paths: tuple[str, ...]
    columns: tuple[Column, ...]
    department_from_path: bool
    department_headers: dict  # department_code -> column -> extra spellings
    conflict: tuple[tuple[str, ...], str] | None  # (key columns, value column): differing values reject all
    returned_by: tuple[str, ...] = ()  # a form's columns the department fills in: all blank = not yet returned

    def matches(self, relative_path: str) -> bool:
        return any(path_matches(relative_path, p) for p in self.paths)

    def department_of(self, relative_path: str) -> str | None:
        parts = PurePosixPath(relative_path).parts
        if len(parts) >= 3 and parts[0] == "departments":
            return parts[1]
        return None

    @property
    def spellings(self) -> dict[str, Column]:
        return self.spellings_for(None)

    def spellings_for(self, department: str | None) -> dict[str, Column]:
        """Header spelling -> column, with the department's own spellings added."""
        out = {}
        by_name = {c.name: c for c in self.columns}
        for c in self.columns:
            for h in c.headers:
                out[header_key(h)] = c
        for name, extra in (self.department_headers.get(department) or {}).items():
            if name not in by_name:
                raise ValueError(f"sources.yml: {self.name}.department_headers.{department} names no column {name!r}")
            for h in extra:
                out[header_key(h)] = by_name[name]
        return out

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@cache
def sources() -> dict[str, Source]:
    text = (resources.files("credit_platform.ingest") / "sources.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    out = {}
    for name, spec in data.items():
        cols = []
        for col_name, c in spec["columns"].items():
            if c["type"] not in TYPES:
                raise ValueError(f"sources.yml: {name}.{col_name} has unknown type {c['type']!r}")
            by = c.get("values_by")
            if c["type"] == "enum" and not (c.get("values") or by):
                raise ValueError(f"sources.yml: {name}.{col_name} is an enum without values or values_by")
            if by and by["column"] not in spec["columns"]:
                raise ValueError(f"sources.yml: {name}.{col_name}.values_by names no column {by['column']!r}")
            cols.append(Column(
                col_name, tuple(str(h) for h in c["headers"]), c["type"], bool(c.get("required")),
                values=tuple(str(v) for v in c.get("values") or ()),
                values_by=(by["column"], {str(k): tuple(map(str, v)) for k, v in by["values"].items()}) if by else None,
            ))  # fmt: skip
        conflict = spec.get("conflict")
        returned_by = tuple(spec.get("returned_by") or ())
        if unknown := sorted(set(returned_by) - set(spec["columns"])):
            raise ValueError(f"sources.yml: {name}.returned_by names no column {unknown}")
        out[name] = Source(
            name=name,
            table=spec["table"],
            description=spec.get("description", ""),
            paths=tuple(spec["paths"]),
            columns=tuple(cols),
            department_from_path=bool(spec.get("department_from_path")),
            department_headers={str(k): v for k, v in (spec.get("department_headers") or {}).items()},
            conflict=(tuple(conflict["key"]), conflict["value"]) if conflict else None,
            returned_by=returned_by,
        )
    return out


@dataclass(frozen=True)
class Rules:
    city_divisions: tuple[str, ...]
    legacy_division_prefixes: tuple[str, ...]
    legacy_organisation_prefixes: tuple[str, ...]
    penalty_categories: tuple[str, ...]
    grade_class_words: tuple[str, ...]
    natural_person_categories: tuple[str, ...]
    allow_list: tuple[tuple[str, str], ...]  # (department_code or "*", uscc)


@cache
def rules() -> Rules:
    import csv
    import io

    from credit_platform import uscc
    base = resources.files("credit_platform.ingest")
    data = yaml.safe_load((base / "rules.yml").read_text(encoding="utf-8"))
    allow = []
    for row in csv.DictReader(io.StringIO((base / "uscc_allow_list.csv").read_text(encoding="utf-8"))):
        allow.append((row.get("department_code") or "*", uscc.normalise(row["uscc"])))
    legacy = data.get("legacy_uscc") or {}
    return Rules(
        city_divisions=tuple(map(str, data["city_divisions"])),
        legacy_division_prefixes=tuple(map(str, legacy.get("division_prefixes", []))),
        legacy_organisation_prefixes=tuple(map(str, legacy.get("organisation_prefixes", []))),
        penalty_categories=tuple(data["penalty_categories"]),
        grade_class_words=tuple(data["grade_class_words"]),
        natural_person_categories=tuple(data["natural_person_categories"]),
        allow_list=tuple(allow),
    )


@cache
def departments() -> dict[str, str]:
    """The city's department codes and names (the dbt seed ``departments.csv``)."""
    import csv

    from credit_platform.settings import paths

    with open(paths().dbt_project / "seeds" / "departments.csv", encoding="utf-8", newline="") as fh:
        return {row["department_code"]: row["department_name"] for row in csv.DictReader(fh)}


def source_for(relative_path: str) -> Source | None:
    for s in sources().values():
        if s.matches(relative_path):
            return s
    return None


def expected_names(relative_path: str) -> list[str]:
    """The file names some source would take in the folder of ``relative_path`` (to say what a stray file lacks)."""
    folder = PurePosixPath(relative_path).parent.as_posix()
    return [PurePosixPath(p).name for s in sources().values() for p in s.paths
            if fnmatch.fnmatchcase(folder, PurePosixPath(p).parent.as_posix())]  # fmt: skip

"""The source configuration (``sources.yml``): which files, which raw table, which header spellings."""

from __future__ import annotations

import fnmatch
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

import yaml

TYPES = {"text", "uscc", "event_date", "date", "amount", "score", "grade", "text_list"}


def header_key(text: object) -> str:
    """How headers are compared: NFKC (full-width brackets to ASCII), no spaces, case-folded."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    return "".join(s.split()).casefold()


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]
    type: str
    required: bool


@dataclass(frozen=True)
class Source:
    name: str
    table: str
    description: str
    paths: tuple[str, ...]
    columns: tuple[Column, ...]
    department_from_path: bool

    def matches(self, relative_path: str) -> bool:
        return any(fnmatch.fnmatchcase(relative_path, p) for p in self.paths)

    def department_of(self, relative_path: str) -> str | None:
        parts = PurePosixPath(relative_path).parts
        if len(parts) >= 3 and parts[0] == "departments":
            return parts[1]
        return None

    @property
    def spellings(self) -> dict[str, Column]:
        out = {}
        for c in self.columns:
            for h in c.headers:
                out[header_key(h)] = c
        return out


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
            cols.append(Column(col_name, tuple(str(h) for h in c["headers"]), c["type"], bool(c.get("required"))))
        out[name] = Source(
            name=name,
            table=spec["table"],
            description=spec.get("description", ""),
            paths=tuple(spec["paths"]),
            columns=tuple(cols),
            department_from_path=bool(spec.get("department_from_path")),
        )
    return out


def source_for(relative_path: str) -> Source | None:
    for s in sources().values():
        if s.matches(relative_path):
            return s
    return None

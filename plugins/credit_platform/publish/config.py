"""The publication configuration (``publication.yml``): levels, each industry's level, the columns
each level may carry per dataset, the departments' workbooks, the platforms with their format and
transport, and the 信用+ programmes whose partners receive their own list. Every Chinese header of
what is published or handed to a department is read here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

LEVELS = ("public", "authorised", "internal")  # from the most open to the most restricted
FORMATS = ("csv", "json", "xml")
TRANSPORTS = ("file", "http")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    headers: dict[str, str]  # column -> Chinese header
    levels: dict[str, tuple[str, ...]]  # level -> the columns it may carry
    level: str | None = None  # every row's level (records); None: by industry (grades)
    partners_only: bool = False  # goes only to the 信用+ programmes' partners, each its own rows

    def columns_for(self, clearance: str) -> tuple[str, ...]:
        """The columns a platform cleared for ``clearance`` receives: those of the most restricted
        level of this dataset it is cleared for."""
        allowed = [lv for lv in LEVELS[: LEVELS.index(clearance) + 1] if lv in self.levels]
        return self.levels[allowed[-1]] if allowed else ()


KINDS = ("text", "number", "wrap", "date")  # date: a date cell (a form's column a clerk fills in)


@dataclass(frozen=True)
class Workbook:
    """A workbook handed to departments: ``columns`` are (column, header, width, kind)."""

    name: str
    sheet: str
    title: str
    columns: tuple[tuple[str, str, int, str], ...]


@dataclass(frozen=True)
class Platform:
    name: str
    title: str
    clearance: str
    format: str
    transport: str
    connection: str | None = None
    envelope: dict = field(default_factory=dict)
    programme: str | None = None  # a 信用+ partner: receives only that programme's list
    # The most records the platform's receiving end accepts in one file; None (the default): no
    # limit, so that a publication run sends it one batch per dataset with every change.
    max_items: int | None = None

    def levels(self) -> tuple[str, ...]:
        return LEVELS[: LEVELS.index(self.clearance) + 1]


@dataclass(frozen=True)
class Programme:
    """A 信用+ programme (联合激励): the partner that receives the list, the database recipient it
    reads as, the grade classes admitted, the industries (empty: all), the columns shared."""

    name: str
    title: str
    partner: str
    recipient: str  # the recipient's slug (credit-platform warehouse recipient add SLUG)
    classes: tuple[str, ...]
    industries: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def platform(self) -> str:
        return f"plus_{self.name}"


PARTNER_DATASET = "credit_plus"
REASON_LABELS = ("serious_dishonesty", "veto", "cap", "objection", "adjustment")


@dataclass(frozen=True)
class MainReasons:
    """How a grade's 主要原因 is written (publish.tables): at most ``max_items`` lines, and the
    Chinese words for the lines that decided a grade rather than lost points (``REASON_LABELS``)."""

    max_items: int = 5
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    backoff_seconds: float = 5.0
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class Config:
    grade_default_level: str
    grade_levels: dict[str, str]  # industry -> level
    datasets: dict[str, Dataset]
    platforms: dict[str, Platform]
    retry: Retry = Retry()
    # Which 18-character values of the credit-code column can be credit codes (GB 32100): the
    # first two characters (registration authority + organisation category) and characters 3-4
    # (province of the registering authority). See personal_data in publication.yml.
    uscc_prefixes: tuple[str, ...] = ()
    uscc_provinces: tuple[str, ...] = ()
    workbooks: dict[str, Workbook] = field(default_factory=dict)
    level_names: dict[str, str] = field(default_factory=dict)  # level -> its Chinese name
    exports: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> column -> header, in order
    programmes: dict[str, Programme] = field(default_factory=dict)
    main_reasons: MainReasons = MainReasons()

    def columns_for(self, platform: Platform, dataset: Dataset) -> tuple[str, ...]:
        """The columns ``platform`` receives of ``dataset`` (none: it does not receive it). A
        partners-only dataset goes to the 信用+ partners alone, each with its programme's columns;
        a partner receives nothing else."""
        if dataset.partners_only != (platform.programme is not None):
            return ()
        if platform.programme is not None:
            return self.programmes[platform.programme].columns
        return dataset.columns_for(platform.clearance)

    def export_headers(self, name: str) -> dict[str, str]:
        """The columns and headers of one of the other files the platform writes (``exports``)."""
        if name not in self.exports:
            raise ConfigError(f"exports.{name} is missing from publication.yml")
        return self.exports[name]

    def grade_level(self, industry_code: str) -> str:
        return self.grade_levels.get(industry_code, self.grade_default_level)


def _level(value, where: str) -> str:
    if value not in LEVELS:
        raise ConfigError(f"{where}: level {value!r} is not one of {', '.join(LEVELS)}")
    return value


def parse(data: dict) -> Config:
    """Check and read a configuration; every mistake is named with where it is."""
    grades = data.get("grade_disclosure") or {}
    default = _level(grades.get("default", "public"), "grade_disclosure.default")
    industries = grades.get("industries") or {}
    by_industry = {k: _level(v, f"grade_disclosure.industries.{k}") for k, v in industries.items()}
    datasets = {}
    for name, d in (data.get("datasets") or {}).items():
        headers = dict(d.get("columns") or {})
        levels = {}
        for lv, cols in (d.get("levels") or {}).items():
            _level(lv, f"datasets.{name}.levels")
            unknown = [c for c in cols if c not in headers]
            if unknown:
                raise ConfigError(f"datasets.{name}.levels.{lv}: no header for column(s) {', '.join(unknown)}")
            levels[lv] = tuple(cols)
        if not levels:
            raise ConfigError(f"datasets.{name}: no level lists its columns")
        level = d.get("level")
        if level is not None and _level(level, f"datasets.{name}.level") not in levels:
            raise ConfigError(f"datasets.{name}: level {level!r} has no column list")
        datasets[name] = Dataset(name, d.get("title", name), headers, levels, level, bool(d.get("partners_only")))
    if "grades" not in datasets:
        raise ConfigError("datasets.grades is missing: grades are always shared")
    platforms = {}
    for name, p in (data.get("platforms") or {}).items():
        fmt, transport = p.get("format", "csv"), p.get("transport", "file")
        if fmt not in FORMATS:
            raise ConfigError(f"platforms.{name}.format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if transport not in TRANSPORTS:
            raise ConfigError(f"platforms.{name}.transport: {transport!r} is not one of {', '.join(TRANSPORTS)}")
        if transport == "http" and not p.get("connection"):
            raise ConfigError(f"platforms.{name}: transport http needs a connection (an Airflow connection id)")
        platforms[name] = Platform(name, p.get("name", name), _level(p.get("clearance", "public"),
                                   f"platforms.{name}.clearance"), fmt, transport, p.get("connection"),
                                   dict(p.get("envelope") or {}), None,
                                   _max_items(p, f"platforms.{name}"))  # fmt: skip
    if "batch_items" in data:
        raise ConfigError("batch_items: a run sends each platform one batch per dataset; a platform that accepts"
                          " only so many records in a file says so with its own max_items")  # fmt: skip
    retry = data.get("retry") or {}
    r = Retry(int(retry.get("attempts", 4)), float(retry.get("backoff_seconds", 5)),
              float(retry.get("timeout_seconds", 60)))  # fmt: skip
    if r.attempts < 1:
        raise ConfigError("retry.attempts must be at least 1")
    prefixes, provinces = _personal_data(data.get("personal_data") or {})
    workbooks = {name: _workbook(name, w, datasets) for name, w in (data.get("workbooks") or {}).items()}
    names = {str(k): str(v) for k, v in (data.get("levels") or {}).items()}
    for lv in names:
        _level(lv, "levels")
    exports = {str(k): {str(c): str(h) for c, h in (v or {}).items()} for k, v in (data.get("exports") or {}).items()}
    programmes = _programmes(data.get("programmes") or {}, datasets, platforms)
    return Config(default, by_industry, datasets, platforms, r, prefixes, provinces, workbooks, names, exports,
                  programmes,
                  _main_reasons(data.get("main_reasons") or {}))  # fmt: skip


def _max_items(spec: dict, where: str) -> int | None:
    value = spec.get("max_items")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}.max_items: {value!r} is not a positive number of records")
    return value


def _main_reasons(section: dict) -> MainReasons:
    """主要原因: every label given, in Chinese (no ASCII letter: a receiver reads them as they are)."""
    import re

    labels = {str(k): str(v) for k, v in (section.get("labels") or {}).items()}
    missing = [k for k in REASON_LABELS if not labels.get(k)]
    if missing:
        raise ConfigError(f"main_reasons.labels: give {', '.join(missing)}")
    unknown = sorted(set(labels) - set(REASON_LABELS))
    if unknown:
        raise ConfigError(f"main_reasons.labels: unknown {', '.join(unknown)} (known: {', '.join(REASON_LABELS)})")
    latin = [k for k, v in labels.items() if re.search(r"[A-Za-z]", v)]
    if latin:
        raise ConfigError(f"main_reasons.labels.{latin[0]}: Chinese only, no ASCII letters")
    items = int(section.get("max_items", 5))
    if items < 1:
        raise ConfigError("main_reasons.max_items must be at least 1")
    return MainReasons(items, labels)


def _programmes(section: dict, datasets: dict[str, Dataset], platforms: dict[str, Platform]) -> dict[str, Programme]:
    """The 信用+ programmes, each also a platform (``plus_<name>``, cleared for authorised rows) that
    receives the partners-only dataset's rows of its programme."""
    import re

    from credit_platform.grade_levels import CLASSES

    if not section:
        return {}
    dataset = datasets.get(PARTNER_DATASET)
    if dataset is None or not dataset.partners_only:
        raise ConfigError(f"programmes need datasets.{PARTNER_DATASET} with partners_only: true")
    shareable = set(dataset.levels.get("authorised", ()))
    out = {}
    for name, p in section.items():
        where = f"programmes.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", str(name)):
            raise ConfigError(f"{where}: a programme's name is lower-case letters, digits and _")
        classes = tuple(str(c) for c in p.get("classes") or ())
        if not classes or set(classes) - set(CLASSES):
            raise ConfigError(f"{where}.classes: {list(classes)} must be some of {', '.join(CLASSES)}")
        columns = tuple(p.get("columns") or ())
        unknown = [c for c in columns if c not in shareable]
        if not columns or unknown or "uscc" not in columns:
            raise ConfigError(f"{where}.columns: {list(columns)} must include uscc and be among"
                              f" {', '.join(dataset.levels.get('authorised', ()))}")  # fmt: skip
        for key in ("partner", "recipient"):
            if not p.get(key):
                raise ConfigError(f"{where}.{key} is missing")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", str(p["recipient"])):
            raise ConfigError(f"{where}.recipient: {p['recipient']!r} is not a recipient name (lower-case, digits, _)")
        prog = Programme(str(name), str(p.get("title", name)), str(p["partner"]), str(p["recipient"]), classes,
                         tuple(str(i) for i in p.get("industries") or ()), columns)  # fmt: skip
        fmt, transport = p.get("format", "csv"), p.get("transport", "file")
        if fmt not in FORMATS or transport not in TRANSPORTS:
            raise ConfigError(f"{where}: format {fmt!r} / transport {transport!r} not one of"
                              f" {', '.join(FORMATS)} / {', '.join(TRANSPORTS)}")  # fmt: skip
        if transport == "http" and not p.get("connection"):
            raise ConfigError(f"{where}: transport http needs a connection (an Airflow connection id)")
        if prog.platform in platforms:
            raise ConfigError(f"{where}: a platform is already named {prog.platform}")
        platforms[prog.platform] = Platform(prog.platform, prog.partner, "authorised", fmt, transport,
                                            p.get("connection"), {}, prog.name, _max_items(p, where))  # fmt: skip
        out[prog.name] = prog
    return out


def _workbook(name: str, spec: dict, datasets: dict[str, Dataset]) -> Workbook:
    """A workbook's columns with their headers: given with the column, else the dataset's, else the
    first spelling of the ingest source's column (sources.yml). A form read back by the ingest has
    every column of its source, in the source's order."""
    where = f"workbooks.{name}"
    given = dict(spec.get("columns") or {})
    headers: dict[str, str] = {}
    if spec.get("dataset"):
        if spec["dataset"] not in datasets:
            raise ConfigError(f"{where}.dataset: no dataset {spec['dataset']!r}")
        headers = dict(datasets[spec["dataset"]].headers)
    if spec.get("source"):
        from credit_platform.ingest.config import sources

        source = sources().get(spec["source"])
        if source is None:
            raise ConfigError(f"{where}.source: no ingest source {spec['source']!r} in sources.yml")
        unknown = [c for c in given if c not in {col.name for col in source.columns}]
        if unknown:
            raise ConfigError(f"{where}.columns: not columns of source {source.name}: {', '.join(unknown)}")
        headers = {col.name: col.headers[0] for col in source.columns}
        given = {col.name: given.get(col.name, [16, "text"]) for col in source.columns}
    columns = []
    for column, value in given.items():
        value = list(value or [])
        header = str(value.pop(0)) if len(value) == 3 else headers.get(column)
        if header is None or len(value) != 2:
            raise ConfigError(f"{where}.columns.{column}: give [header, width, kind], or [width, kind] with a"
                              " dataset or source that heads it")  # fmt: skip
        width, kind = value
        if kind not in KINDS:
            raise ConfigError(f"{where}.columns.{column}: kind {kind!r} is not one of {', '.join(KINDS)}")
        columns.append((str(column), header, int(width), str(kind)))
    if not columns:
        raise ConfigError(f"{where}: no columns")
    return Workbook(name, str(spec.get("sheet", name)), str(spec.get("title", name)), tuple(columns))


def _personal_data(section: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The plausible credit-code prefixes and provinces; without them every all-digit credit code
    shaped like an ID number would be withheld, so both are required."""
    codes = section.get("uscc_registration_codes") or {}
    provinces = tuple(str(p) for p in section.get("uscc_provinces") or ())
    if not codes or not provinces:
        raise ConfigError("personal_data: uscc_registration_codes and uscc_provinces (GB 32100) are required")
    prefixes = []
    for authority, categories in codes.items():
        authority, categories = str(authority), str(categories)
        if len(authority) != 1 or not categories.isalnum():
            raise ConfigError(f"personal_data.uscc_registration_codes.{authority}: one character, then its"
                              " categories as one string (\"1239\")")  # fmt: skip
        prefixes += [authority + c for c in categories]
    bad = [p for p in provinces if len(p) != 2 or not p.isdigit()]
    if bad:
        raise ConfigError(f"personal_data.uscc_provinces: not two-digit codes: {', '.join(bad)}")
    return tuple(prefixes), provinces


@cache
def load() -> Config:
    """The configuration shipped beside this module."""
    text = resources.files("credit_platform.publish").joinpath("publication.yml").read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))

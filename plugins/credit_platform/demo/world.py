"""The simulated city: market subjects, their supervision, grades, penalties, licences, list entries
and commendations, and the later department records (commitments, inspection results, credit
repairs, complaints, external grades, grade adjustments). Pure data, no files; ``generate`` turns it
into inbox files.

Every random choice comes from the one ``random.Random`` passed in, in a fixed order, and nothing
iterates over a set, so a seed always yields the same city.
"""

from __future__ import annotations

import calendar
import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from credit_platform import uscc
from credit_platform.grade_levels import GRADES

from . import vocab as V

FIRST_DAY = date(1995, 1, 1)
LAST_DAY = date(2025, 12, 31)
CITY_SINCE = date(2018, 7, 1)  # Huairen county became a city: division 140624 -> 140681
OLD_DIVISION = "140624"
NEW_DIVISION = "140681"
USCC_ERA = date(2015, 10, 1)  # codes issued to new registrations from here on
PENALTY_FROM = date(2024, 7, 1)
H1_END = date(2025, 6, 30)
H2_END = date(2025, 12, 31)

# GRADES: the nine levels of seed grade_levels, best first; the tables below give one value per level.
GRADE_WEIGHTS = (3, 7, 22, 32, 20, 8, 4, 2.5, 1.5)
# Score bands in tenths of a point: (lowest, highest), both inclusive; A is (90, 100] -> 90.1..100.0.
GRADE_TENTHS = {
    "A": (901, 1000), "A-": (851, 900), "B+": (801, 850), "B": (721, 800), "B-": (651, 720),
    "C+": (571, 650), "C": (481, 570), "C-": (401, 480), "D": (150, 400),
}
# How likely a subject with a grade is to be penalised or commended (relative weights).
PENALTY_PULL = {"A": 0.2, "A-": 0.3, "B+": 0.6, "B": 1.0, "B-": 1.5, "C+": 2.5, "C": 3.5, "C-": 5.0, "D": 6.0}
COMMEND_PULL = {"A": 8.0, "A-": 6.0, "B+": 3.0, "B": 1.5, "B-": 0.7, "C+": 0.2, "C": 0.2, "C-": 0.1, "D": 0.0}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# ---------------------------------------------------------------------------------------------
# small helpers


def weighted(rng: random.Random, pairs) -> str:
    """One key from ``((key, weight), ...)``."""
    keys = [k for k, _ in pairs]
    weights = [w for _, w in pairs]
    return rng.choices(keys, weights=weights)[0]


def rand_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def shift_years(d: date, years: int) -> date:
    year = d.year + years
    return date(year, d.month, min(d.day, calendar.monthrange(year, d.month)[1]))


def resident_id(rng: random.Random, birth: date, female: bool) -> str:
    """A fake 18-character resident ID (GB 11643): area, birth date, sequence, MOD 11-2 check."""
    area = NEW_DIVISION if rng.random() < 0.6 else OLD_DIVISION
    seq = rng.randrange(100) * 10 + rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def old_registration_number(rng: random.Random) -> str:
    """A 15-digit registration number of the pre-2015 kind: authority code, serial, ISO 7064 MOD 11,10 check."""
    body = OLD_DIVISION + rng.choice("026") + f"{rng.randrange(10**7):07d}"
    p = 10
    for ch in body:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return body + str((11 - p) % 10)


# ---------------------------------------------------------------------------------------------
# reference data


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    uscc: str


def read_seeds(seeds: Path) -> tuple[dict[str, Department], dict[str, tuple[str, str]]]:
    """Departments by code, and industry code -> (industry name, department code), in file order."""
    with (seeds / "departments.csv").open(encoding="utf-8", newline="") as fh:
        departments = {
            r["department_code"]: Department(r["department_code"], r["department_name"], r["department_uscc"])
            for r in csv.DictReader(fh)
        }
    with (seeds / "industries.csv").open(encoding="utf-8", newline="") as fh:
        industries = {r["industry_code"]: (r["industry_name"], r["department_code"]) for r in csv.DictReader(fh)}
    return departments, industries


# ---------------------------------------------------------------------------------------------
# the city


class Subject:
    __slots__ = (
        "idx", "kind", "prefix", "type_cn", "reg_date", "division", "uscc", "name", "active", "old_no",
        "rep_name", "rep_id", "industries", "scope_dates",
    )

    def __init__(self, idx: int):
        self.idx = idx
        self.active = True
        self.old_no = ""
        self.industries: list[str] = []
        self.scope_dates: list[date] = []


@dataclass
class Penalty:
    dept: str
    subject: Subject
    industry: str
    decided: date
    category: str
    fine: int  # yuan
    confiscated: int  # yuan
    revoked: str  # licence suspended or revoked, or ""
    serious: bool = False
    number: str = ""
    violation: tuple[str, str, str] = ("", "", "")
    remark: str = ""


@dataclass
class Licence:
    dept: str
    subject: Subject
    decided: date
    until: date
    cert_no: str
    status: str
    number: str = ""


@dataclass
class ListEntry:
    subject: Subject
    listed: date
    removed: date | None
    authority: str
    reason: str


@dataclass
class Commendation:
    subject: Subject
    title: str
    level: str
    awarded: date
    issuer: str


@dataclass
class Inspector:
    dept: str
    ident: str
    name: str
    certificate: str
    conflicts: list[str]


@dataclass
class Commitment:
    dept: str
    subject: Subject
    kind: str  # 承诺类型
    content: str
    signed: date
    consent: str  # 是 / 否
    status: str  # 已履约 / 未履约 / 履约中
    status_date: date | None  # when kept or broken was established; None while 履约中
    unit: str


@dataclass
class InspectionResult:
    dept: str
    subject: Subject
    task: str  # "" when the department leaves it empty
    matter: str
    inspected: date
    result: str
    inspectors: str
    remark: str


@dataclass
class Repair:
    penalty: Penalty
    repaired: date
    number: str = ""

    @property
    def dept(self) -> str:
        return self.penalty.dept


@dataclass
class Complaint:
    dept: str
    subject: Subject
    received: date
    channel: str
    summary: str
    status: str
    ident: str = ""


@dataclass
class ExternalGrade:
    dept: str  # the department that forwards it
    subject: Subject
    system: str  # 纳税信用 / 公路建设市场信用 / 环保信用
    grade: str
    evaluated: date
    authority: str


@dataclass
class Adjustment:
    dept: str
    subject: Subject
    industry: str
    grade: str
    reason: str
    approver: str
    approved: date
    ident: str = ""


@dataclass
class City:
    n: int
    departments: dict[str, Department]
    industries: dict[str, tuple[str, str]]
    subjects: list[Subject] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)  # membership only, never iterated
    dishonest: list[Subject] = field(default_factory=list)
    commended: list[Subject] = field(default_factory=list)
    insufficient: list[Subject] = field(default_factory=list)
    planted: set[int] = field(default_factory=set)  # subject idx, membership only
    h1: list[tuple[Subject, str, int, date]] = field(default_factory=list)  # subject, grade, tenths, date
    h2: list[tuple[Subject, str, int, date]] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    listed: list[ListEntry] = field(default_factory=list)
    commendations: list[Commendation] = field(default_factory=list)
    inspectors: list[Inspector] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)
    inspections: list[InspectionResult] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    external_grades: list[ExternalGrade] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)

    def dept_of(self, industry: str) -> str:
        return self.industries[industry][1]


def scaled(n: int, per_30000: float, minimum: int) -> int:
    return max(minimum, round(per_30000 * n / 30000))


def largest_remainder(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` over the keys in proportion to the weights (ties by key order)."""
    wsum = sum(weights.values())
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    rest = total - sum(out.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - out[k]), list(weights).index(k)))
    for k in order[:rest]:
        out[k] += 1
    return out


# ---------------------------------------------------------------------------------------------
# subjects

_YEARS = tuple(range(1995, 2026))
_YEAR_WEIGHTS = tuple(1 if y < 2005 else 2 if y < 2014 else 5 for y in _YEARS)


def _registration_date(rng: random.Random, kind: str) -> date:
    if kind == "village":
        return rand_date(rng, date(2017, 6, 1), date(2021, 12, 31))
    if kind in ("institution", "social"):
        return rand_date(rng, FIRST_DAY, LAST_DAY)
    while True:
        year = rng.choices(_YEARS, weights=_YEAR_WEIGHTS)[0]
        d = rand_date(rng, date(year, 1, 1), date(year, 12, 31))
        if kind != "cooperative" or d >= date(2007, 7, 1):
            return d


def _org8(rng: random.Random, prefix: str, reg: date) -> str:
    digits = "0123456789"
    if prefix in ("91", "93") and reg >= USCC_ERA:
        return "MA" + "".join(rng.choices(uscc.ALPHABET, k=6))
    if prefix == "92" and reg >= USCC_ERA:
        return "L" + "".join(rng.choices(uscc.ALPHABET, k=7))
    if prefix == "12":
        return "4" + "".join(rng.choices(digits, k=7))
    if prefix.startswith("5"):
        return "5" + "".join(rng.choices(digits, k=7))
    if prefix == "N2":
        return "MF" + "".join(rng.choices(digits, k=6))
    return "".join(rng.choices(digits, k=8))


def _place(rng: random.Random, reg: date) -> str:
    return V.OLD_CITY if reg < CITY_SINCE and rng.random() < 0.3 else V.CITY


def _brand(rng: random.Random) -> str:
    first = rng.choice(V.BRAND_FIRST)
    second = rng.choice(V.BRAND_SECOND)
    while second == first:
        second = rng.choice(V.BRAND_SECOND)
    return first + second


def _village(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(V.SURNAMES) + "家" + rng.choice(("庄", "堡", "寨", "窑", "营", "屯")) + "村"
    return rng.choice(V.VILLAGE_CORE_PREFIX) + rng.choice(V.VILLAGE_CORE) + "村"


_MANUFACTURING = ("陶瓷", "建材", "乳业", "肉类加工", "机械制造", "印务", "洗煤", "焦化", "食品", "粮油")


def _name(rng: random.Random, s: Subject, surname: str) -> str:
    industry = s.industries[0]
    if s.kind == "enterprise":
        word = rng.choice(V.ENTERPRISE_WORDS[industry])
        suffix = weighted(rng, V.ENTERPRISE_SUFFIXES)
        if suffix == "厂" and word not in _MANUFACTURING:
            suffix = "有限公司"
        r = rng.random()
        place = "山西" if r < 0.08 else "朔州市" if r < 0.12 else _place(rng, s.reg_date)
        return f"{place}{_brand(rng)}{word}{suffix}"
    if s.kind == "individual":
        word = rng.choice(V.SHOP_WORDS[industry])
        r = rng.random()
        owner = f"老{surname}" if r < 0.35 else f"{surname}记" if r < 0.6 else _brand(rng)
        town = rng.choice(V.TOWNS) if rng.random() < 0.25 else ""
        return f"{_place(rng, s.reg_date)}{town}{owner}{word}"
    if s.kind == "cooperative":
        word = rng.choice(V.COOP_WORDS[industry])
        where = _brand(rng) if rng.random() < 0.6 else rng.choice(V.TOWNS) + _village(rng)
        return f"{_place(rng, s.reg_date)}{where}{word}专业合作社"
    if s.kind == "institution":
        tmpl = rng.choice(V.INSTITUTION_NAMES[industry])
        return V.CITY + tmpl.format(n=rng.choice(V.CHINESE_NUMERALS), town=rng.choice(V.TOWNS))
    if s.kind == "social":
        tmpl = rng.choice(V.SOCIAL_NAMES[s.prefix])
        return V.CITY + tmpl.format(trade=rng.choice(V.TRADES), brand=_brand(rng))
    suffix = weighted(rng, V.VILLAGE_SUFFIXES)
    town = rng.choice(V.TOWNS)
    if suffix == "股份经济联合社":
        return f"{V.CITY}{town}{suffix}"
    return f"{V.CITY}{town}{_village(rng)}{suffix}"


def _industries(rng: random.Random, city: City, kind: str) -> list[str]:
    weights = V.INDUSTRY_WEIGHTS[kind]
    first = weighted(rng, weights.items())
    out = [first]
    if rng.random() < 0.15:
        others = [(k, w) for k, w in weights.items() if city.dept_of(k) != city.dept_of(first)]
        if others:
            out.append(weighted(rng, others))
    return out


def _scope_date(rng: random.Random, reg: date, nth: int) -> date:
    start = max(reg, date(2019, 1, 1) + timedelta(days=rng.randrange(365)))
    d = start + timedelta(days=rng.randrange(60) + nth * rng.randrange(400))
    return min(d, LAST_DAY)


def make_subjects(rng: random.Random, city: City) -> None:
    type_keys = [t[0] for t in V.SUBJECT_TYPES]
    type_weights = [t[3] for t in V.SUBJECT_TYPES]
    meta = {t[0]: t for t in V.SUBJECT_TYPES}
    for idx in range(city.n):
        s = Subject(idx)
        s.kind = rng.choices(type_keys, weights=type_weights)[0]
        _, prefixes, s.type_cn, _ = meta[s.kind]
        s.prefix = weighted(rng, prefixes)
        s.reg_date = _registration_date(rng, s.kind)
        s.division = OLD_DIVISION if s.reg_date < CITY_SINCE else NEW_DIVISION
        while True:
            code = uscc.make(s.prefix, s.division, _org8(rng, s.prefix, s.reg_date))
            if code not in city.codes:
                break
        city.codes.add(code)
        s.uscc = code
        s.industries = _industries(rng, city, s.kind)
        s.scope_dates = [_scope_date(rng, s.reg_date, i) for i in range(len(s.industries))]
        female = rng.random() < 0.3
        surname = rng.choice(V.SURNAMES)
        s.rep_name = surname + rng.choice(V.GIVEN_FEMALE if female else V.GIVEN_MALE)
        birth_year = min(2003, max(1945, s.reg_date.year - rng.randint(22, 60)))
        birth = date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
        s.rep_id = resident_id(rng, birth, female)
        s.name = _name(rng, s, surname)
        city.subjects.append(s)

    # Deregistered (注销): market entities only, about 4% of all subjects.
    market = [s for s in city.subjects if s.kind in ("enterprise", "individual", "cooperative")]
    for s in rng.sample(market, min(len(market), round(0.04 * city.n))):
        s.active = False
    # Old 15-digit registration numbers: market entities registered before the code era, about 10%.
    old = [s for s in market if s.reg_date < USCC_ERA]
    seen: set[str] = set()
    for s in rng.sample(old, min(len(old), round(0.10 * city.n))):
        while True:
            number = old_registration_number(rng)
            if number not in seen:
                break
        seen.add(number)
        s.old_no = number


# ---------------------------------------------------------------------------------------------
# planted cases


def plant(rng: random.Random, city: City) -> None:
    established = [s for s in city.subjects if s.active and s.reg_date < date(2024, 1, 1)]
    market = [s for s in established if s.kind in ("enterprise", "individual")]
    city.dishonest = rng.sample(market, scaled(city.n, 40, 5))
    taken = {s.idx for s in city.dishonest}
    pool = [s for s in established if s.idx not in taken]
    city.commended = rng.sample(pool, scaled(city.n, 50, 5))
    taken |= {s.idx for s in city.commended}
    recent = [s for s in city.subjects if s.active and s.reg_date >= date(2024, 7, 1) and s.idx not in taken]
    want = scaled(city.n, 100, 5)
    if len(recent) < want:  # small cities: fall back to any active subject
        recent += [s for s in city.subjects if s.active and s.idx not in taken and s.reg_date < date(2024, 7, 1)]
    city.insufficient = rng.sample(recent, want)
    city.planted = taken | {s.idx for s in city.insufficient}


# ---------------------------------------------------------------------------------------------
# province evaluations


def _score(rng: random.Random, grade: str) -> int:
    lo, hi = GRADE_TENTHS[grade]
    return rng.randint(lo, hi)


def _move(rng: random.Random, grade: str) -> str:
    r = rng.random()
    step = 0 if r < 0.78 else rng.choice((-1, 1)) if r < 0.94 else rng.choice((-2, 2))
    return GRADES[min(len(GRADES) - 1, max(0, GRADES.index(grade) + step))]


def evaluate(rng: random.Random, city: City, listed_on: dict[int, ListEntry]) -> None:
    dishonest = {s.idx for s in city.dishonest}
    commended = {s.idx for s in city.commended}
    insufficient = {s.idx for s in city.insufficient}
    h1_from, h1_to = date(2025, 6, 1), date(2025, 6, 28)
    h2_from, h2_to = date(2025, 12, 1), date(2025, 12, 28)
    for s in city.subjects:
        if not s.active or s.idx in insufficient:
            continue
        forced = s.idx in dishonest or s.idx in commended
        in_h1 = s.reg_date <= date(2025, 5, 31) and (forced or rng.random() < 0.99)
        in_h2 = s.reg_date <= date(2025, 11, 30) and (forced or rng.random() < (0.985 if in_h1 else 0.6))
        if s.idx in commended:
            g1, g2 = rng.choice(("A", "A-")), rng.choice(("A", "A-"))
        elif s.idx in dishonest:
            entry = listed_on[s.idx]
            g1 = "D" if entry.listed <= H1_END else "C-"
            g2 = "D" if entry.removed is None or entry.removed > H1_END else "C-"
        else:
            g1 = rng.choices(GRADES, weights=GRADE_WEIGHTS)[0]
            g2 = _move(rng, g1) if in_h1 else rng.choices(GRADES, weights=GRADE_WEIGHTS)[0]
        if in_h1:
            city.h1.append((s, g1, _score(rng, g1), rand_date(rng, h1_from, h1_to)))
        if in_h2:
            city.h2.append((s, g2, _score(rng, g2), rand_date(rng, h2_from, h2_to)))


# ---------------------------------------------------------------------------------------------
# penalties


def _fine(rng: random.Random, s: Subject, serious: bool) -> int:
    if serious:
        return rng.randrange(100, 1001) * 1000
    lo, hi = (2.3, 3.9) if s.kind == "individual" else (3.0, 5.3)
    return max(100, round(10 ** rng.uniform(lo, hi) / 100) * 100)


def _licence_name(dept: str) -> str:
    return V.LICENCES[dept][2] if dept in V.LICENCES else "相关许可证件"


def _penalty(rng: random.Random, dept: str, s: Subject, industry: str, decided: date, serious: bool) -> Penalty:
    category = weighted(rng, V.SERIOUS_CATEGORIES if serious else V.PENALTY_CATEGORIES)
    fine = confiscated = 0
    revoked = ""
    if category != "警告":
        fine = _fine(rng, s, serious)
    if category == "没收违法所得":
        confiscated = round(10 ** rng.uniform(2.5, 4.5))
    if category == "暂扣或吊销许可证":
        prefix = V.LICENCES[dept][4] if dept in V.LICENCES else NEW_DIVISION
        revoked = f"{_licence_name(dept)}（编号：{prefix}{rng.randrange(10**7):07d}）"
        if rng.random() < 0.4 and not serious:
            fine = 0
    p = Penalty(dept, s, industry, decided, category, fine, confiscated, revoked, serious)
    p.violation = rng.choice(V.VIOLATIONS[industry])
    p.remark = rng.choice(("已履行", "已缴纳罚款")) if fine and rng.random() < 0.15 else ""
    return p


def _supervised(city: City, exclude: set[int]) -> dict[str, list[tuple[Subject, str, date]]]:
    out: dict[str, list[tuple[Subject, str, date]]] = {d: [] for d in city.departments}
    for s in city.subjects:
        if not s.active or s.idx in exclude:
            continue
        for ind, since in zip(s.industries, s.scope_dates, strict=True):
            out[city.dept_of(ind)].append((s, ind, since))
    return out


def penalise_planted(rng: random.Random, city: City) -> list[ListEntry]:
    """Planted seriously-dishonest subjects: a serious penalty, then the list, maybe more penalties.
    Returns their list entries (about a quarter removed again later in 2025)."""
    entries: list[ListEntry] = []
    for s in city.dishonest:
        k = rng.randrange(len(s.industries))
        ind, since = s.industries[k], s.scope_dates[k]
        dept = city.dept_of(ind)
        first = rand_date(rng, min(max(PENALTY_FROM, since + timedelta(days=1)), date(2025, 9, 30)), date(2025, 9, 30))
        city.penalties.append(_penalty(rng, dept, s, ind, first, serious=True))
        for _ in range(rng.randrange(3)):
            later = rand_date(rng, first, LAST_DAY)
            city.penalties.append(_penalty(rng, dept, s, ind, later, serious=False))
        listed = first + timedelta(days=rng.randint(15, 60))
        entries.append(ListEntry(s, listed, None, city.departments[dept].name, rng.choice(V.SERIOUS_REASONS)))
    early = [e for e in entries if e.listed <= date(2025, 5, 31)]
    for e in rng.sample(early, min(len(early), round(len(entries) / 4))):
        e.removed = rand_date(rng, max(e.listed + timedelta(days=120), date(2025, 1, 15)), date(2025, 12, 20))
    return entries


def penalise_others(rng: random.Random, city: City, grade_of: dict[int, str]) -> None:
    """Fill each department's quota (scjgj 40% of all) with penalties on subjects it supervises,
    drawn more often from subjects with poor grades; then number the decisions."""
    total = scaled(city.n, 3000, 20)
    pools = _supervised(city, city.planted)
    others = {d: len(pools[d]) * V.ENFORCEMENT_WEIGHT.get(d, 1.0) for d in city.departments if d != "scjgj"}
    quota = largest_remainder(total - round(0.4 * total), others)
    quota["scjgj"] = round(0.4 * total)
    for dept in city.departments:
        pool = pools[dept]
        need = quota[dept] - sum(1 for p in city.penalties if p.dept == dept)
        if not pool or need <= 0:
            continue
        weights = [PENALTY_PULL.get(grade_of.get(s.idx, ""), 1.0) for s, _, _ in pool]
        for s, ind, since in rng.choices(pool, weights=weights, k=need):
            decided = rand_date(rng, max(PENALTY_FROM, since), LAST_DAY)
            city.penalties.append(_penalty(rng, dept, s, ind, decided, serious=False))

    # Decision numbers in date order, per department and year (with gaps, as in real registers).
    order = {d: i for i, d in enumerate(city.departments)}
    city.penalties.sort(key=lambda p: (order[p.dept], p.decided, p.subject.idx))
    seq: dict[tuple[str, int], int] = {}
    for p in city.penalties:
        key = (p.dept, p.decided.year)
        seq[key] = seq.get(key, 0) + rng.randint(1, 3)
        p.number = f"{V.PENALTY_PREFIX.get(p.dept, '怀罚')}〔{p.decided.year}〕{seq[key]}号"


def extra_list_entries(rng: random.Random, city: City) -> list[ListEntry]:
    """Non-planted list entries: deregistered subjects, and active ones listed and removed within 2024."""
    k = max(2, round(len(city.dishonest) / 10))
    out = []
    gone = [s for s in city.subjects if not s.active and s.reg_date < date(2023, 1, 1)]
    for s in rng.sample(gone, min(k, len(gone))):
        dept = city.dept_of(s.industries[0])
        listed = rand_date(rng, date(2024, 1, 1), date(2025, 10, 31))
        out.append(ListEntry(s, listed, None, city.departments[dept].name, rng.choice(V.SERIOUS_REASONS)))
    past = [s for s in city.subjects if s.active and s.idx not in city.planted and s.reg_date < date(2023, 1, 1)]
    for s in rng.sample(past, min(k, len(past))):
        dept = city.dept_of(s.industries[0])
        listed = rand_date(rng, date(2024, 1, 1), date(2024, 5, 31))
        removed = rand_date(rng, listed + timedelta(days=90), date(2024, 12, 31))
        out.append(ListEntry(s, listed, removed, city.departments[dept].name, rng.choice(V.SERIOUS_REASONS)))
    return out


# ---------------------------------------------------------------------------------------------
# licences, commendations, inspectors


def license_subjects(rng: random.Random, city: City) -> None:
    total = scaled(city.n, 5000, 30)
    quota = largest_remainder(total, {d: spec[8] for d, spec in V.LICENCES.items()})
    pools = _supervised(city, {s.idx for s in city.insufficient})
    for dept, spec in V.LICENCES.items():
        industry, years = spec[0], spec[5]
        pool = [(s, since) for s, ind, since in pools.get(dept, []) if ind == industry]
        if not pool:
            continue
        k = quota[dept]
        picks = rng.sample(pool, k) if k <= len(pool) else rng.choices(pool, k=k)
        rows = []
        for s, _ in picks:
            decided = rand_date(rng, max(date(2025, 1, 1), s.reg_date), LAST_DAY)
            until = shift_years(decided, years) - timedelta(days=1)
            cert = f"{spec[4]}{rng.randrange(10**8):08d}"
            status = weighted(rng, (("正常", 95), ("注销", 3), ("撤销", 2)))
            rows.append(Licence(dept, s, decided, until, cert, status))
        rows.sort(key=lambda x: (x.decided, x.subject.idx))
        for i, lic in enumerate(rows, 1):
            lic.number = f"{spec[7]}〔2025〕{i}号"
        city.licences.extend(rows)


def _commendation(rng: random.Random, s: Subject) -> Commendation:
    awarded = rand_date(rng, max(date(2024, 1, 1), s.reg_date), date(2025, 12, 31))
    title, issuers = rng.choice(V.COMMENDATIONS[s.kind])
    levels = [(lv, w) for lv, w in V.LEVEL_WEIGHTS if lv in issuers]
    level = weighted(rng, levels)
    year = awarded.year - 1 if awarded.month <= 4 else awarded.year
    return Commendation(s, title.format(year=year, place=V.LEVEL_PLACE[level]), level, awarded, issuers[level])


def commend(rng: random.Random, city: City, grade_of: dict[int, str], listed: set[int]) -> None:
    rows = []
    for s in city.commended:
        rows.extend(_commendation(rng, s) for _ in range(rng.choice((1, 1, 1, 2))))
    total = scaled(city.n, 600, len(rows) + 5)
    excluded = city.planted | listed
    pool = [s for s in city.subjects if s.active and s.idx not in excluded]
    weights = [COMMEND_PULL.get(grade_of.get(s.idx, ""), 0.5) for s in pool]
    rows.extend(_commendation(rng, s) for s in rng.choices(pool, weights=weights, k=max(0, total - len(rows))))
    rows.sort(key=lambda c: (c.awarded, c.subject.idx))
    city.commendations = rows


def staff(rng: random.Random, city: City) -> None:
    pools = _supervised(city, set())
    seen: set[str] = set()
    for dept in city.departments:
        codes = []
        prev = set()
        for s, _, _ in pools[dept]:  # distinct subjects, in subject order
            if s.idx not in prev:
                prev.add(s.idx)
                codes.append(s.uscc)
        for i in range(1, rng.randint(6, 12) + 1):
            female = rng.random() < 0.35
            name = rng.choice(V.SURNAMES) + rng.choice(V.GIVEN_FEMALE if female else V.GIVEN_MALE)
            while True:
                cert = f"{NEW_DIVISION}{rng.randint(2018, 2025)}{rng.randrange(1, 10000):04d}"
                if cert not in seen:
                    break
            seen.add(cert)
            conflicts = rng.sample(codes, min(len(codes), rng.randint(1, 3))) if rng.random() < 0.3 else []
            city.inspectors.append(Inspector(dept, f"{dept}-{i:03d}", name, cert, conflicts))


def build_city(rng: random.Random, n: int, seeds: Path) -> City:
    departments, industries = read_seeds(seeds)
    city = City(n, departments, industries)
    make_subjects(rng, city)
    plant(rng, city)
    # The list dates follow the planted penalties, and the planted grades follow the list.
    entries = penalise_planted(rng, city)
    evaluate(rng, city, {e.subject.idx: e for e in entries})
    grade_of = {s.idx: g for s, g, _, _ in city.h2}
    grade_of.update({s.idx: g for s, g, _, _ in city.h1})
    penalise_others(rng, city, grade_of)
    entries += extra_list_entries(rng, city)
    entries.sort(key=lambda e: (e.listed, e.subject.idx))
    city.listed = entries
    license_subjects(rng, city)
    commend(rng, city, grade_of, {e.subject.idx for e in entries})
    staff(rng, city)
    return city


# ---------------------------------------------------------------------------------------------
# later department records: commitments, inspection results, credit repairs, complaints,
# external grades, grade adjustments

INSPECTION_PULL = {"A": 0.5, "A-": 0.6, "B+": 0.8, "B": 1.0, "B-": 1.2, "C+": 1.6, "C": 2.0, "C-": 2.5, "D": 3.0}
RECORDS_FROM = date(2024, 1, 1)
TAX_DAY = date(2025, 4, 18)  # the 2024 tax credit grades are published
HIGHWAY_DAY = date(2025, 3, 28)
ENV_DAY = date(2025, 6, 20)


def _fulfilment(rng: random.Random, signed: date, grade: str, clean: bool) -> tuple[str, date | None]:
    if rng.random() < (0.6 if signed > date(2025, 9, 30) else 0.15):
        return "履约中", None
    when = signed + timedelta(days=rng.randint(30, 365))
    if when > LAST_DAY:
        return "履约中", None
    broken = 0.0 if clean else 0.04 * PENALTY_PULL.get(grade, 1.0)
    return ("未履约" if rng.random() < broken else "已履约"), when


def make_commitments(rng: random.Random, city: City, pools, grade_of: dict[int, str], commended: set[int]) -> None:
    penalised = {(p.dept, p.subject.idx) for p in city.penalties}
    quota = largest_remainder(scaled(city.n, 3000, 30), V.COMMITMENT_SHARES)
    for dept, k in quota.items():
        pool = [(s, ind, since) for s, ind, since in pools[dept] if ind in V.COMMITMENTS]
        if not pool or k <= 0:
            continue
        rows = []
        for s, ind, since in rng.choices(pool, k=k):
            options = [o for o in V.COMMITMENTS[ind] if o[0] != "信用修复型" or (dept, s.idx) in penalised]
            kind, content = rng.choice(options)
            signed = rand_date(rng, max(RECORDS_FROM, since), LAST_DAY)
            consent = "是" if rng.random() < 0.85 else "否"
            status, when = _fulfilment(rng, signed, grade_of.get(s.idx, ""), s.idx in commended)
            unit = V.APPROVAL_BUREAU if kind == "审批替代型" else city.departments[dept].name
            rows.append(Commitment(dept, s, kind, content, signed, consent, status, when, unit))
        rows.sort(key=lambda c: (c.signed, c.subject.idx))
        city.commitments.extend(rows)


def _inspection_result(rng: random.Random, dept: str, grade: str, clean: bool) -> str:
    if clean:
        return "未发现问题"
    pull = PENALTY_PULL.get(grade, 1.0)
    r1, r2, r3, r4 = V.INSPECTION_RESULTS
    return weighted(rng, ((r1, 84), (r2, 10 * pull), (r3, 2 * pull), (r4, 4 if dept == "scjgj" else 1)))


def inspect(rng: random.Random, city: City, pools, grade_of: dict[int, str], commended: set[int]) -> None:
    """Random inspections in 2025 of the subjects each department supervises, drawn more often for
    poor grades, by two of its inspectors without a declared conflict with the subject."""
    for dept, ratio in V.INSPECTION_RATIOS.items():
        pool = pools[dept]
        staff_ = [p for p in city.inspectors if p.dept == dept]
        # weighted sampling without replacement (Efraimidis-Spirakis keys)
        keys = [(rng.random() ** (1 / INSPECTION_PULL.get(grade_of.get(s.idx, ""), 1.0)), i)
                for i, (s, _, _) in enumerate(pool)]
        keys.sort(reverse=True)
        rows = []
        for _, i in sorted(keys[: round(ratio * len(pool))], key=lambda x: x[1]):
            s, ind, since = pool[i]
            inspected = rand_date(rng, max(date(2025, 1, 1), since), LAST_DAY)
            matter = f"{dept}-{ind}-{rng.randint(1, len(V.MATTERS[ind])):02d}"
            result = _inspection_result(rng, dept, grade_of.get(s.idx, ""), s.idx in commended)
            free = [p for p in staff_ if s.uscc not in p.conflicts]
            team = rng.sample(free, min(2, len(free)))
            task = ""
            if rng.random() < V.INSPECTION_TASK_SHARE[dept]:
                task = f"{dept}-2025-CC{(inspected.month - 1) // 3 + 1:02d}"
            remark = rng.choice(V.INSPECTION_REMARKS[result])
            if remark == "已列入经营异常名录" and dept != "scjgj":  # only market regulation keeps that list
                remark = ""
            rows.append(InspectionResult(dept, s, task, matter, inspected, result, "、".join(p.name for p in team),
                                         remark))
        rows.sort(key=lambda r: (r.inspected, r.subject.idx))
        city.inspections.extend(rows)


def repair(rng: random.Random, city: City, exclude: set[int], unusable_penalties: set[tuple[str, str]]) -> None:
    """Credit repairs of general penalties (fines up to 100,000 yuan, confiscations) at least 90 days
    after the decision, by the department that imposed them."""
    for dept, share in V.REPAIR_SHARES.items():
        eligible = [
            p for p in city.penalties
            if p.dept == dept and p.category in ("罚款", "没收违法所得") and p.fine <= 100000 and not p.serious
            and p.decided <= date(2025, 9, 30) and p.subject.idx not in exclude and p.subject.idx not in city.planted
            and (dept, p.number) not in unusable_penalties
        ]
        rows = []
        for p in rng.sample(eligible, round(share * len(eligible))):
            start = p.decided + timedelta(days=90)
            rows.append(Repair(p, rand_date(rng, start, min(LAST_DAY, start + timedelta(days=270)))))
        rows.sort(key=lambda r: (r.repaired, r.penalty.subject.idx, r.penalty.number))
        seq: dict[int, int] = {}
        for r in rows:
            seq[r.repaired.year] = seq.get(r.repaired.year, 0) + 1
            r.number = f"{V.REPAIR_PREFIX[dept]}〔{r.repaired.year}〕{seq[r.repaired.year]}号"
        city.repairs.extend(rows)


def complain(rng: random.Random, city: City, pools, grade_of: dict[int, str], commended: set[int]) -> None:
    quota = largest_remainder(scaled(city.n, 1800, 20), V.COMPLAINT_SHARES)
    for dept, k in quota.items():
        pool = [(s, ind, since) for s, ind, since in pools[dept] if ind in V.COMPLAINTS and s.idx not in commended]
        if not pool or k <= 0:
            continue
        weights = [PENALTY_PULL.get(grade_of.get(s.idx, ""), 1.0) for s, _, _ in pool]
        channels = V.COMPLAINT_CHANNELS.get(dept, V.COMPLAINT_CHANNELS["other"])
        rows = []
        for s, ind, since in rng.choices(pool, weights=weights, k=k):
            received = rand_date(rng, max(date(2025, 1, 1), since), LAST_DAY)
            if received >= date(2025, 12, 1):
                status = weighted(rng, (("办理中", 60), ("已办结", 35), ("不予受理", 5)))
            else:
                status = weighted(rng, (("已办结", 85), ("不予受理", 10), ("办理中", 5)))
            rows.append(Complaint(dept, s, received, weighted(rng, channels), rng.choice(V.COMPLAINTS[ind]), status))
        rows.sort(key=lambda c: (c.received, c.subject.idx))
        prefix = "TS" if dept == "scjgj" else "GD"
        per_day: dict[date, int] = {}
        for c in rows:
            per_day[c.received] = per_day.get(c.received, 0) + 1
            c.ident = f"{prefix}{c.received:%Y%m%d}{per_day[c.received]:04d}"
        city.complaints.extend(rows)


def _external(rng: random.Random, city: City, dept: str, system: str, pool: list[Subject], k: int, table,
              day: date, authority: str, grade_of: dict[int, str]) -> list[ExternalGrade]:
    rows = []
    for s in sorted(rng.sample(pool, min(k, len(pool))), key=lambda x: x.idx):
        if system == "纳税信用" and s.reg_date >= date(2024, 1, 1) and rng.random() < 0.8:
            grade = "M"  # a new taxpayer
        else:
            grade = weighted(rng, table[grade_of.get(s.idx, "")[:1]])
        when = day if rng.random() < 0.93 else rand_date(rng, day, LAST_DAY)  # a few re-evaluations later on
        rows.append(ExternalGrade(dept, s, system, grade, when, authority))
    return rows


def grade_externally(rng: random.Random, city: City, exclude: set[int], grade_of: dict[int, str]) -> None:
    """Grades of other systems: tax (enterprises and cooperatives) and environmental credit (enterprises
    supervised in ecology_environment), forwarded by fgj; highway construction (transport and
    construction enterprises), forwarded by jtj."""
    active = [s for s in city.subjects if s.active and s.idx not in exclude and s.reg_date < date(2025, 1, 1)]
    taxed = [s for s in active if s.prefix in ("91", "93")]
    green = [s for s in active if s.prefix == "91" and "ecology_environment" in s.industries]
    roads = [s for s in active if s.prefix == "91" and s.reg_date < date(2024, 1, 1)
             and ("transport" in s.industries or "housing_construction" in s.industries)]
    fgj = _external(rng, city, "fgj", "纳税信用", taxed, scaled(city.n, 3000, 30), V.TAX_GRADES, TAX_DAY,
                    V.TAX_AUTHORITY, grade_of)
    fgj += _external(rng, city, "fgj", "环保信用", green, scaled(city.n, 300, 5), V.ENV_GRADES, ENV_DAY,
                     V.ENV_AUTHORITY, grade_of)
    fgj.sort(key=lambda g: (g.evaluated, g.system, g.subject.idx))
    jtj = _external(rng, city, "jtj", "公路建设市场信用", roads, scaled(city.n, 150, 5), V.HIGHWAY_GRADES,
                    HIGHWAY_DAY, V.HIGHWAY_AUTHORITY, grade_of)
    jtj.sort(key=lambda g: (g.evaluated, g.subject.idx))
    city.external_grades = fgj + jtj


def adjust(rng: random.Random, city: City, pools) -> None:
    """A handful of H2 grades per department set by hand, one or two levels from the province grade."""
    h2 = {s.idx: g for s, g, _, _ in city.h2}
    for dept in V.ADJUSTMENT_DEPTS:
        pool = [(s, ind) for s, ind, _ in pools[dept] if s.idx in h2 and s.idx not in city.planted]
        approver = rng.choice(V.SURNAMES) + rng.choice(V.GIVEN_MALE)
        rows = []
        for s, ind in rng.sample(pool, min(len(pool), scaled(city.n, 4, 2))):
            pos = GRADES.index(h2[s.idx])
            step = rng.choice((1, 1, 2)) * (1 if rng.random() < 0.6 else -1)  # positive: a worse grade
            new = min(len(GRADES) - 1, max(0, pos + step))
            if new == pos:
                new = pos - step // abs(step)
            reason = rng.choice(V.ADJUST_DOWN if new > pos else V.ADJUST_UP)
            approved = rand_date(rng, date(2025, 12, 10), LAST_DAY)
            rows.append(Adjustment(dept, s, ind, GRADES[new], reason, approver, approved))
        rows.sort(key=lambda a: (a.approved, a.subject.idx))
        for i, a in enumerate(rows, 1):
            a.ident = f"{dept}-TZ-2025H2-{i:03d}"
        city.adjustments.extend(rows)


def add_department_records(
    rng: random.Random,
    city: City,
    *,
    unusable: set[int],
    unusable_scope: set[tuple[str, int]],
    unusable_penalties: set[tuple[str, str]],
) -> None:
    """The later department records. They lean only on rows that load: subjects whose register row is
    clean (``unusable``: the others), supervision by a department whose scope row is clean
    (``unusable_scope``: (department, subject) pairs) and penalties whose row is clean
    (``unusable_penalties``: (department, decision number) pairs). Subjects planted as having too
    little data get none."""
    grade_of = {s.idx: g for s, g, _, _ in city.h1}
    grade_of.update({s.idx: g for s, g, _, _ in city.h2})  # the latest grade
    exclude = unusable | {s.idx for s in city.insufficient}
    pools = {d: [e for e in pool if (d, e[0].idx) not in unusable_scope]
             for d, pool in _supervised(city, exclude).items()}
    commended = {s.idx for s in city.commended}
    make_commitments(rng, city, pools, grade_of, commended)
    inspect(rng, city, pools, grade_of, commended)
    repair(rng, city, exclude, unusable_penalties)
    complain(rng, city, pools, grade_of, commended)
    grade_externally(rng, city, exclude, grade_of)
    adjust(rng, city, pools)

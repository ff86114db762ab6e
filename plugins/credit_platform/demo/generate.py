"""Generate the demo inbox: province pushes and department files for a city of market subjects,
with planted cases and an exact, recorded number of defective rows per file.

    from credit_platform.demo.generate import generate
    manifest = generate(inbox, manifest_path, seed=42, subjects=30000, defect_rate=0.02)

or ``python -m credit_platform.demo.generate INBOX MANIFEST [--seed N] [--subjects N] [--defect-rate R]``.
The layout, every file and the manifest are described in this folder's ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from credit_platform import uscc

from . import vocab as V
from . import world as W
from .writers import DATE_STYLE_WEIGHTS, DATE_STYLES, Wan, api_json_bytes, csv_bytes, write_bytes, xlsx_bytes

PERIODS = {"2025-H1": "2025-06-30", "2025-H2": "2025-12-31"}
#: Raised when the files change for the same seed, so that an inbox made by an older generator is remade.
GENERATOR_VERSION = 2

DEFECT_KINDS = (
    "uscc_missing", "uscc_invalid_format", "uscc_invalid_checksum", "date_unparseable", "event_date_in_future",
    "amount_negative", "grade_invalid", "value_not_allowed",
)
USCC_KINDS = DEFECT_KINDS[:3]
DATE_KINDS = DEFECT_KINDS[3:5]
FUTURE_YEAR = 2099
FULLWIDTH_SHARE = 0.016  # of rows with a signed grade in the H1 CSV: about 1% of all rows

PROVINCE_H1 = "province/province_evaluation_2025H1.csv"
PROVINCE_H2 = "province/province_evaluation_2025H2.json"
BATCH_H1 = "SX-PJ-2025H1-001"
BATCH_H2 = "SX-PJ-2025H2-001"


def _spelt(source: str, *columns: str, spelling: int = 0, **other: int) -> tuple[str, ...]:
    """A header row as the ingest's sources.yml spells ``source``: each column's spelling number
    ``spelling`` (0: the first), or the number given for it by name in ``other`` (``uscc=1``). Every
    header a generated file carries is one the loader knows."""
    from credit_platform.ingest.config import sources

    spellings = {c.name: c.headers for c in sources()[source].columns}
    return tuple(spellings[c][other.get(c, spelling)] for c in columns)


# A row number column the loader ignores (it is no column of the source).
PROVINCE_CSV_HEADER = ("序号", *_spelt("province_evaluation", "subject_name", "uscc", "grade", "score",
                                      "evaluation_date", "push_batch_no", subject_name=1))  # fmt: skip
PROVINCE_JSON_KEYS = _spelt("province_evaluation", "subject_name", "uscc", "grade", "score", "evaluation_date",
                            "push_batch_no", spelling=1, subject_name=2, grade=2)  # fmt: skip
REGISTER_HEADER = _spelt("subject_register", "uscc", "subject_name", "subject_type", "division_code",
                         "established_date", "registration_status", "old_registration_number")  # fmt: skip
SCOPE_HEADER = _spelt("supervision_scope", "uscc", "subject_name", "industry_code", "supervised_from")
INSPECTOR_HEADER = _spelt("inspector_roster", "inspector_id", "inspector_name", "certificate_number", "conflict_usccs")
MATTER_HEADER = _spelt("inspection_matter", "matter_code", "matter_name", "industry_code")
_PENALTY_COLUMNS = (
    "subject_name", "subject_category", "uscc", "legal_rep_name", "legal_rep_id_type", "legal_rep_id_number",
    "decision_number", "violation_type", "facts", "legal_basis", "penalty_category", "content", "fine_amount",
    "confiscated_amount", "licence_affected", "decision_date", "valid_until", "publication_end_date",
    "authority_name", "authority_uscc", "data_source", "data_source_uscc", "remarks",
)  # fmt: skip
PENALTY_CODES = _spelt("penalty", *_PENALTY_COLUMNS)  # the national standard's field codes (CF_...)
# Its Chinese labels, the unit in full-width brackets as the workbooks write it (the loader
# compares headers after NFKC, which makes them half-width again).
PENALTY_LABELS = tuple(h.replace("(万元)", "（万元）") for h in _spelt("penalty", *_PENALTY_COLUMNS, spelling=1))
LICENCE_CODES = _spelt(
    "licence", "subject_name", "subject_category", "uscc", "legal_rep_name", "licence_document", "decision_number",
    "licence_category", "licence_certificate", "licence_number", "content", "decision_date", "valid_from",
    "valid_to", "authority_name", "authority_uscc", "licence_status",
)  # fmt: skip
LIST_HEADER = _spelt("serious_dishonesty", "uscc", "subject_name", "listed_date", "removed_date",
                     "listing_authority", "listing_reason")  # fmt: skip
COMMENDATION_HEADER = _spelt("commendation", "uscc", "subject_name", "commendation_name", "commendation_level",
                             "commendation_date", "awarding_authority")  # fmt: skip
# The later department files. Some departments spell the headers their own way (the second
# spellings of sources.yml).
_COMMITMENT = ("uscc", "subject_name", "commitment_type", "commitment_content", "commitment_date",
               "consent_to_publish", "fulfilment_status", "status_date", "accepting_unit")  # fmt: skip
COMMITMENT_HEADER = _spelt("commitment", *_COMMITMENT)
COMMITMENT_HEADER_JTJ = _spelt("commitment", *_COMMITMENT, uscc=1, subject_name=1, commitment_content=1,
                               commitment_date=1, consent_to_publish=1, fulfilment_status=1)  # fmt: skip
_INSPECTION = ("task_id", "uscc", "subject_name", "matter_code", "inspection_date", "result", "inspectors", "remarks")
INSPECTION_HEADER = _spelt("inspection_result", *_INSPECTION)
INSPECTION_HEADER_SCJGJ = _spelt("inspection_result", *_INSPECTION, task_id=1, uscc=1, subject_name=1,
                                 matter_code=1, inspection_date=1)  # fmt: skip
REPAIR_HEADER = _spelt("credit_repair", "uscc", "subject_name", "record_type", "record_reference", "repair_date",
                       "repair_number", "repair_authority")  # fmt: skip
_COMPLAINT = ("complaint_id", "uscc", "subject_name", "received_date", "channel", "summary", "status")
COMPLAINT_HEADER = _spelt("complaint", *_COMPLAINT)
COMPLAINT_HEADER_HOTLINE = _spelt("complaint", *_COMPLAINT, spelling=1, channel=0, status=0)
_EXTERNAL = ("uscc", "subject_name", "grade_system", "grade", "evaluation_date", "issuing_authority")
EXTERNAL_HEADER = _spelt("external_grade", *_EXTERNAL)
EXTERNAL_HEADER_JTJ = _spelt("external_grade", *_EXTERNAL, grade_system=1, grade=1, evaluation_date=1)
ADJUSTMENT_HEADER = _spelt("grade_adjustment", "adjustment_id", "uscc", "subject_name", "industry_code",
                           "evaluation_period", "adjusted_grade", "reason", "approver", "approval_date")  # fmt: skip
ADJUSTMENT_PERIOD = "2025-H2"
XLSX_SHEET = "行政处罚"
XLSX_NOTES_SHEET = "说明"
XLSX_HEADER_ROW = 3


@dataclass
class Table:
    """One file: its rows (cell values), the subject behind each row and where the checked cells are."""

    path: str
    source: str
    fmt: str
    encoding: str | None
    department: str | None
    header: tuple[str, ...]
    newline: str = "\n"
    rows: list[list] = field(default_factory=list)
    subjects: list[int | None] = field(default_factory=list)
    styles: list[int] = field(default_factory=list)
    uscc_col: int | None = None
    date_col: int | None = None  # the event date
    date_cols: tuple[int, ...] = ()  # every date, shifted together for event_date_in_future
    amount_col: int | None = None
    grade_col: int | None = None
    enum_col: int | None = None  # an enumeration: value_not_allowed writes a value from bad_enums there
    enum_by: int | None = None  # the column whose value selects the allowed values, if any
    bad_enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by enum_by's value ("" without one)
    defects: dict[str, int] = field(default_factory=dict)
    defect_rows: list[tuple[int, str]] = field(default_factory=list)
    variants: dict[str, int] = field(default_factory=dict)
    xlsx_title: str = ""
    avoid: set[int] = field(default_factory=set)  # rows whose defect would spill into other files (membership only)

    @property
    def kinds(self) -> tuple[str, ...]:
        out: list[str] = []
        if self.uscc_col is not None:
            out += USCC_KINDS
        if self.date_col is not None:
            out += DATE_KINDS
        if self.amount_col is not None:
            out.append("amount_negative")
        if self.grade_col is not None:
            out.append("grade_invalid")
        if self.enum_col is not None:
            out.append("value_not_allowed")
        return tuple(out)

    def add(self, row: list, subject: W.Subject | None, style: int = 0) -> None:
        self.rows.append(row)
        self.subjects.append(subject.idx if subject is not None else None)
        self.styles.append(style)


def _style(rng: random.Random) -> int:
    return rng.choices(DATE_STYLES, weights=DATE_STYLE_WEIGHTS)[0]


def _party_type(s: W.Subject) -> str:
    return "个体工商户" if s.prefix == "92" else "法人及非法人组织"


# ---------------------------------------------------------------------------------------------
# tables


def province_tables(city: W.City) -> list[Table]:
    h1 = Table(PROVINCE_H1, "province_evaluation", "csv", "gb18030", None, PROVINCE_CSV_HEADER, newline="\r\n",
               uscc_col=2, date_col=5, date_cols=(5,), grade_col=3)
    for i, (s, grade, tenths, when) in enumerate(city.h1, 1):
        h1.add([i, s.name, s.uscc, grade, f"{tenths / 10:.1f}", when, BATCH_H1], s)
    h2 = Table(PROVINCE_H2, "province_evaluation", "json", "utf-8", None, PROVINCE_JSON_KEYS,
               uscc_col=1, date_col=4, date_cols=(4,), grade_col=2)
    for s, grade, tenths, when in city.h2:
        h2.add([s.name, s.uscc, grade, tenths / 10, when, BATCH_H2], s)
    return [h1, h2]


def register_table(rng: random.Random, city: W.City) -> Table:
    t = Table("departments/scjgj/subject_register.csv", "subject_register", "csv", "utf-8-sig", "scjgj",
              REGISTER_HEADER, uscc_col=0, date_col=4, date_cols=(4,))
    for s in city.subjects:
        t.add([s.uscc, s.name, s.type_cn, s.division, s.reg_date, "存续" if s.active else "注销", s.old_no], s,
              _style(rng))
    return t


def scope_table(rng: random.Random, city: W.City, dept: str) -> Table:
    t = Table(f"departments/{dept}/supervision_scope.csv", "supervision_scope", "csv", "utf-8", dept, SCOPE_HEADER,
              uscc_col=0, date_col=3, date_cols=(3,))
    for s in city.subjects:
        for ind, since in zip(s.industries, s.scope_dates, strict=True):
            if city.dept_of(ind) == dept:
                t.add([s.uscc, s.name, ind, since], s, _style(rng))
    return t


def inspector_table(city: W.City, dept: str) -> Table:
    t = Table(f"departments/{dept}/inspectors.csv", "inspector_roster", "csv", "utf-8", dept, INSPECTOR_HEADER)
    for p in city.inspectors:
        if p.dept == dept:
            t.add([p.ident, p.name, p.certificate, ";".join(p.conflicts)], None)
    return t


def matter_table(city: W.City, dept: str) -> Table:
    t = Table(f"departments/{dept}/inspection_matters.csv", "inspection_matter", "csv", "utf-8", dept, MATTER_HEADER)
    for ind, (_, owner) in city.industries.items():
        if owner == dept:
            for k, name in enumerate(V.MATTERS[ind], 1):
                t.add([f"{dept}-{ind}-{k:02d}", name, ind], None)
    return t


def _penalty_row(city: W.City, p: W.Penalty) -> list:
    s = p.subject
    dept = city.departments[p.dept]
    wfxw, facts, basis = p.violation
    if p.category == "警告":
        content = "警告"
    elif p.category == "罚款":
        content = f"罚款人民币{p.fine}元"
    elif p.category == "没收违法所得":
        content = f"没收违法所得人民币{p.confiscated}元，并处罚款人民币{p.fine}元"
    elif p.category == "责令停产停业":
        content = f"责令停产停业整顿，并处罚款人民币{p.fine}元"
    else:
        content = f"吊销{p.revoked}" + (f"，并处罚款人民币{p.fine}元" if p.fine else "")
    if p.category == "警告":
        months = 3
    elif p.serious or p.category in ("责令停产停业", "暂扣或吊销许可证") or p.fine > 100000:
        months = 36
    else:
        months = 12
    publish_until = W.add_months(p.decided, months) - timedelta(days=1)
    valid_until = W.add_months(p.decided, max(months, 12)) - timedelta(days=1)
    return [
        s.name, _party_type(s), s.uscc, s.rep_name, "身份证", s.rep_id, p.number, wfxw, facts + "。", basis,
        p.category, content, Wan(p.fine), Wan(p.confiscated) if p.confiscated else None, p.revoked, p.decided,
        valid_until, publish_until, dept.name, dept.uscc, dept.name, dept.uscc, p.remark,
    ]


def _penalty_table(path: str, fmt: str, dept: str, header) -> Table:
    encoding = "utf-8-sig" if fmt == "csv" else None
    return Table(path, "penalty", fmt, encoding, dept, tuple(header), uscc_col=2, date_col=15, date_cols=(15, 16, 17),
                 amount_col=12)


def penalty_tables(rng: random.Random, city: W.City, dept: str) -> list[Table]:
    rows = [p for p in city.penalties if p.dept == dept]
    if dept != "scjgj":
        t = _penalty_table(f"departments/{dept}/penalties_2025.csv", "csv", dept, PENALTY_CODES)
        for p in rows:
            t.add(_penalty_row(city, p), p.subject, _style(rng))
        return [t]
    name = city.departments[dept].name
    first = _penalty_table("departments/scjgj/penalties_2025H1.xlsx", "xlsx", dept, PENALTY_LABELS)
    first.xlsx_title = f"{name}行政处罚信息（2025年上半年）"
    second = _penalty_table("departments/scjgj/penalties_2025H2.xlsx", "xlsx", dept, PENALTY_LABELS)
    second.xlsx_title = f"{name}行政处罚信息（2025年下半年）"
    for p in rows:
        (first if p.decided <= W.H1_END else second).add(_penalty_row(city, p), p.subject)
    return [first, second]


def licence_table(rng: random.Random, city: W.City, dept: str) -> Table:
    t = Table(f"departments/{dept}/licences_2025.csv", "licence", "csv", "gb18030", dept, LICENCE_CODES,
              newline="\r\n", uscc_col=2, date_col=10, date_cols=(10, 11, 12))
    spec = V.LICENCES[dept]
    d = city.departments[dept]
    for lic in city.licences:
        if lic.dept == dept:
            s = lic.subject
            t.add([s.name, _party_type(s), s.uscc, s.rep_name, spec[1], lic.number, spec[3], spec[2], lic.cert_no,
                   spec[6], lic.decided, lic.decided, lic.until, d.name, d.uscc, lic.status], s, _style(rng))
    return t


def list_table(rng: random.Random, city: W.City) -> Table:
    t = Table("departments/fgj/serious_dishonesty_list.csv", "serious_dishonesty", "csv", "utf-8", "fgj",
              LIST_HEADER, uscc_col=0, date_col=2, date_cols=(2, 3))
    for e in city.listed:
        t.add([e.subject.uscc, e.subject.name, e.listed, e.removed, e.authority, e.reason], e.subject, _style(rng))
    return t


def commendation_table(rng: random.Random, city: W.City) -> Table:
    t = Table("departments/fgj/commendations.csv", "commendation", "csv", "utf-8", "fgj", COMMENDATION_HEADER,
              uscc_col=0, date_col=4, date_cols=(4,))
    for c in city.commendations:
        t.add([c.subject.uscc, c.subject.name, c.title, c.level, c.awarded, c.issuer], c.subject, _style(rng))
    return t


def _by_department(city: W.City, records) -> dict[str, list]:
    out: dict[str, list] = {}
    for dept in city.departments:
        rows = [r for r in records if r.dept == dept]
        if rows:
            out[dept] = rows
    return out


def commitment_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.commitments).items():
        header = COMMITMENT_HEADER_JTJ if dept == "jtj" else COMMITMENT_HEADER
        t = Table(f"departments/{dept}/commitments.csv", "commitment", "csv", "utf-8", dept, header, uscc_col=0,
                  date_col=4, date_cols=(4,), enum_col=6, bad_enums={"": V.BAD_FULFILMENT})
        for c in rows:
            s = c.subject
            t.add([s.uscc, s.name, c.kind, c.content, c.signed, c.consent, c.status, c.status_date, c.unit], s,
                  _style(rng))
        out.append(t)
    return out


def inspection_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.inspections).items():
        header = INSPECTION_HEADER_SCJGJ if dept == "scjgj" else INSPECTION_HEADER
        t = Table(f"departments/{dept}/inspection_results.csv", "inspection_result", "csv", "utf-8-sig", dept,
                  header, uscc_col=1, date_col=4, date_cols=(4,), enum_col=5,
                  bad_enums={"": V.BAD_INSPECTION_RESULTS})
        for r in rows:
            s = r.subject
            t.add([r.task, s.uscc, s.name, r.matter, r.inspected, r.result, r.inspectors, r.remark], s, _style(rng))
        out.append(t)
    return out


def repair_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.repairs).items():
        t = Table(f"departments/{dept}/credit_repairs.csv", "credit_repair", "csv", "gb18030", dept, REPAIR_HEADER,
                  newline="\r\n", uscc_col=0, date_col=4, date_cols=(4,), enum_col=2,
                  bad_enums={"": V.BAD_RECORD_TYPES})
        name = city.departments[dept].name
        for r in rows:
            s = r.penalty.subject
            t.add([s.uscc, s.name, "行政处罚", r.penalty.number, r.repaired, r.number, name], s, _style(rng))
        out.append(t)
    return out


def complaint_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.complaints).items():
        header = COMPLAINT_HEADER if dept == "scjgj" else COMPLAINT_HEADER_HOTLINE
        t = Table(f"departments/{dept}/complaints.csv", "complaint", "csv", "gb18030", dept, header, newline="\r\n",
                  uscc_col=1, date_col=3, date_cols=(3,), enum_col=6, bad_enums={"": V.BAD_COMPLAINT_STATUSES})
        for c in rows:
            s = c.subject
            t.add([c.ident, s.uscc, s.name, c.received, c.channel, c.summary, c.status], s, _style(rng))
        out.append(t)
    return out


def external_grade_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.external_grades).items():
        header = EXTERNAL_HEADER_JTJ if dept == "jtj" else EXTERNAL_HEADER
        t = Table(f"departments/{dept}/external_grades.csv", "external_grade", "csv", "utf-8-sig", dept, header,
                  uscc_col=0, date_col=4, date_cols=(4,), enum_col=3, enum_by=2, bad_enums=V.BAD_EXTERNAL_GRADES)
        for g in rows:
            t.add([g.subject.uscc, g.subject.name, g.system, g.grade, g.evaluated, g.authority], g.subject,
                  _style(rng))
        out.append(t)
    return out


def adjustment_tables(rng: random.Random, city: W.City) -> list[Table]:
    out = []
    for dept, rows in _by_department(city, city.adjustments).items():
        t = Table(f"departments/{dept}/grade_adjustments.csv", "grade_adjustment", "csv", "utf-8", dept,
                  ADJUSTMENT_HEADER, uscc_col=1, date_col=8, date_cols=(8,))
        for a in rows:
            s = a.subject
            t.add([a.ident, s.uscc, s.name, a.industry, ADJUSTMENT_PERIOD, a.grade, a.reason, a.approver, a.approved],
                  s, _style(rng))
        out.append(t)
    return out


def later_tables(rng: random.Random, city: W.City) -> list[Table]:
    """The files of the later department records (commitments, inspection results, credit repairs,
    complaints, external grades, grade adjustments)."""
    return (commitment_tables(rng, city) + inspection_tables(rng, city) + repair_tables(rng, city)
            + complaint_tables(rng, city) + external_grade_tables(rng, city) + adjustment_tables(rng, city))


def build_tables(rng: random.Random, city: W.City) -> list[Table]:
    tables = province_tables(city)
    tables.append(register_table(rng, city))
    for dept in city.departments:
        tables.append(scope_table(rng, city, dept))
        tables.append(inspector_table(city, dept))
        tables.append(matter_table(city, dept))
        tables.extend(penalty_tables(rng, city, dept))
        if dept in V.LICENCES:
            tables.append(licence_table(rng, city, dept))
    tables.append(list_table(rng, city))
    tables.append(commendation_table(rng, city))
    return tables


# ---------------------------------------------------------------------------------------------
# defects


def _bad_code(rng: random.Random, code: str, kind: str, codes: set[str]) -> str:
    while True:
        if kind == "uscc_missing":
            return ""
        if kind == "uscc_invalid_checksum":
            bad = code[:17] + rng.choice([c for c in uscc.ALPHABET if c != code[17]])
        else:
            how = rng.randrange(3)
            if how == 0:  # a forbidden letter in place of one character
                pos = rng.randrange(18)
                bad = code[:pos] + rng.choice("OI") + code[pos + 1:]
            elif how == 1:  # the last character dropped
                bad = code[:17]
            else:  # one character too many
                bad = code + rng.choice(uscc.ALPHABET)
        if not uscc.is_valid(uscc.normalise(bad)) and bad not in codes:
            return bad


def _eligible(t: Table, i: int, kind: str) -> bool:
    if kind == "amount_negative":
        return int(t.rows[i][t.amount_col]) > 0
    if kind == "event_date_in_future" and t.source == "subject_register":
        # keep the 2018 division rule true: only subjects coded 140681 get a date in 2099
        return t.rows[i][3] == W.NEW_DIVISION
    if kind == "event_date_in_future" and t.source == "commitment":
        # 履约认定日期 is an event date too: only rows without one, so that a single date is in the future
        return t.rows[i][7] is None
    return True


def cited_elsewhere(city: W.City) -> dict[str, set[int]]:
    """Subjects that rows of other files point at: ``"any"`` for the register (province pushes,
    penalties, licences, list entries, commendations, inspectors' conflicts), and per department
    for its scope file (its penalties, licences and inspectors' conflicts). A defect in the register
    or a scope file is put on other subjects' rows where possible, so that it does not leave a
    clean row elsewhere pointing at a subject the loader has rejected."""
    by_code = {s.uscc: s.idx for s in city.subjects}
    out: dict[str, set[int]] = {d: set() for d in city.departments}
    out["any"] = set()
    for s, *_ in city.h1 + city.h2:
        out["any"].add(s.idx)
    for p in city.penalties:
        out[p.dept].add(p.subject.idx)
    for lic in city.licences:
        out[lic.dept].add(lic.subject.idx)
    for person in city.inspectors:
        out[person.dept].update(by_code[c] for c in person.conflicts)
    for d in city.departments:
        out["any"] |= out[d]
    out["any"].update(e.subject.idx for e in city.listed)
    out["any"].update(c.subject.idx for c in city.commendations)
    return out


def apply_defects(rng: random.Random, t: Table, rate: float, planted: set[int], codes: set[str]) -> None:
    kinds = t.kinds
    t.defects = {k: 0 for k in kinds}
    n = round(rate * len(t.rows))
    if not kinds or n <= 0:
        return
    counts = {k: n // len(kinds) for k in kinds}
    order = list(kinds)
    rng.shuffle(order)
    for k in order[: n % len(kinds)]:
        counts[k] += 1
    candidates = [i for i, s in enumerate(t.subjects) if (s is None or s not in planted) and i not in t.avoid]
    if len(candidates) < n:  # not enough rows without side effects: take some with
        candidates += [i for i, s in enumerate(t.subjects) if (s is None or s not in planted) and i in t.avoid]
    used: set[int] = set()
    shortfall = 0
    restricted = ("amount_negative", "event_date_in_future")
    for kind in sorted(kinds, key=lambda k: (k not in restricted, kinds.index(k))):
        want = counts[kind]
        if kind == "uscc_missing":  # what the restricted kinds could not place goes here
            want, shortfall = want + shortfall, 0
        pool = [i for i in candidates if i not in used and _eligible(t, i, kind)]
        picks = rng.sample(pool, min(want, len(pool)))
        shortfall += want - len(picks)
        t.defects[kind] = len(picks)
        for i in picks:
            used.add(i)
            _break(rng, t, t.rows[i], kind, codes)
            t.defect_rows.append((i + 1, kind))
    t.defect_rows.sort()


def _break(rng: random.Random, t: Table, row: list, kind: str, codes: set[str]) -> None:
    if kind in USCC_KINDS:
        row[t.uscc_col] = _bad_code(rng, row[t.uscc_col], kind, codes)
    elif kind == "date_unparseable":
        row[t.date_col] = rng.choice(V.BAD_DATES)
    elif kind == "event_date_in_future":
        years = FUTURE_YEAR - row[t.date_col].year
        for c in t.date_cols:
            if isinstance(row[c], date):
                row[c] = W.shift_years(row[c], years)
    elif kind == "amount_negative":
        row[t.amount_col] = Wan(-int(row[t.amount_col]))
    elif kind == "grade_invalid":
        row[t.grade_col] = rng.choice(V.BAD_GRADES)
    elif kind == "value_not_allowed":
        row[t.enum_col] = rng.choice(t.bad_enums[row[t.enum_by] if t.enum_by is not None else ""])


def fullwidth_grades(rng: random.Random, t: Table, planted: set[int]) -> None:
    """About 1% of the H1 grades written with full-width signs (B＋, A－): valid after NFKC."""
    broken = {r - 1 for r, _ in t.defect_rows}
    n = 0
    for i, row in enumerate(t.rows):
        grade = row[t.grade_col]
        if i in broken or t.subjects[i] in planted or len(grade) != 2:
            continue
        if rng.random() < FULLWIDTH_SHARE:
            row[t.grade_col] = grade.replace("+", "\uff0b").replace("-", "\uff0d")
            n += 1
    t.variants["grade_fullwidth"] = n


# ---------------------------------------------------------------------------------------------
# output


def _bytes(t: Table) -> bytes:
    if t.fmt == "json":
        return api_json_bytes(t.header, t.rows, BATCH_H2)
    if t.fmt == "xlsx":
        return xlsx_bytes(XLSX_SHEET, t.xlsx_title, t.header, t.rows, XLSX_NOTES_SHEET, V.SCJGJ_NOTES)
    return csv_bytes(t.header, t.rows, t.styles, t.encoding, t.newline)


def _entry(t: Table) -> dict:
    entry = {
        "source": t.source,
        "format": t.fmt,
        "encoding": t.encoding,
        "department_code": t.department,
        "rows": len(t.rows),
        "defects": dict(t.defects),
        "defect_rows": [[r, k] for r, k in t.defect_rows],
    }
    if t.fmt == "xlsx":
        entry["sheet"] = XLSX_SHEET
        entry["header_row"] = XLSX_HEADER_ROW
    if t.variants:
        entry["variants"] = dict(t.variants)
    return entry


def seeds_dir() -> Path:
    from credit_platform.settings import paths

    return paths().dbt_project / "seeds"


def generate(
    inbox: Path,
    manifest_path: Path,
    *,
    seed: int = 42,
    subjects: int = 30000,
    defect_rate: float = 0.02,
) -> dict:
    """(Re)create the demo files under ``inbox`` and write the manifest; returns the manifest."""
    if subjects < 200:
        raise ValueError("subjects must be at least 200")
    if not 0 <= defect_rate <= 0.5:
        raise ValueError("defect_rate must be between 0 and 0.5")
    inbox, manifest_path = Path(inbox), Path(manifest_path)
    rng = random.Random(seed)
    city = W.build_city(rng, subjects, seeds_dir())
    tables = build_tables(rng, city)
    cited = cited_elsewhere(city)
    unregistered: set[int] = set()
    for t in tables:
        if t.source == "subject_register":
            t.avoid = {i for i, s in enumerate(t.subjects) if s in cited["any"]}
        elif t.source == "supervision_scope":
            used = cited[t.department]
            t.avoid = {i for i, s in enumerate(t.subjects) if s in used or s in unregistered}
        apply_defects(rng, t, defect_rate, city.planted, city.codes)
        if t.source == "subject_register":
            unregistered = {t.subjects[r - 1] for r, _ in t.defect_rows}
    fullwidth_grades(rng, tables[0], city.planted)

    # The later department records are drawn only now, so that the files above keep their bytes.
    # They lean only on rows that load: a clean register row, a clean scope row of the department
    # and, for a repair, a clean penalty row.
    scope_defects = {(t.department, t.subjects[r - 1]) for t in tables if t.source == "supervision_scope"
                     for r, _ in t.defect_rows}
    penalty_defects = {(t.department, t.rows[r - 1][6]) for t in tables if t.source == "penalty"
                       for r, _ in t.defect_rows}
    W.add_department_records(rng, city, unusable=unregistered, unusable_scope=scope_defects,
                             unusable_penalties=penalty_defects)
    later = later_tables(rng, city)
    for t in later:
        apply_defects(rng, t, defect_rate, city.planted, city.codes)
    tables += later

    for t in tables:  # delete only what this generator writes, then write it
        (inbox / t.path).unlink(missing_ok=True)
    for t in tables:
        write_bytes(inbox / t.path, _bytes(t))

    files = {t.path: _entry(t) for t in tables}
    totals = {k: 0 for k in DEFECT_KINDS}
    for t in tables:
        for k, v in t.defects.items():
            totals[k] += v
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "subjects": subjects,
        "defect_rate": defect_rate,
        "periods": dict(PERIODS),
        "files": files,
        "planted": {
            "serious_dishonesty": sorted(s.uscc for s in city.dishonest),
            "commended_clean": sorted(s.uscc for s in city.commended),
            "insufficient_data": sorted(s.uscc for s in city.insufficient),
        },
        "totals": {"rows": sum(len(t.rows) for t in tables), "defects": totals},
    }
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    write_bytes(manifest_path, text.encode("utf-8"))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the demo inbox and its manifest.")
    parser.add_argument("inbox", type=Path)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--subjects", type=int, default=30000)
    parser.add_argument("--defect-rate", type=float, default=0.02)
    args = parser.parse_args(argv)
    manifest = generate(args.inbox, args.manifest, seed=args.seed, subjects=args.subjects,
                        defect_rate=args.defect_rate)
    print(json.dumps({"rows": manifest["totals"]["rows"], "files": len(manifest["files"])}))


if __name__ == "__main__":
    main()

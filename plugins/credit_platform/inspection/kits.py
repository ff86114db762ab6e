"""Each public plan's verification kit (验证包): everything needed to check its draw, and nothing personal.

One JSON file per plan of a round whose department publishes its plans (``disclosure`` public,
seed ``inspection_settings``) and whose algorithm is ``credit-draw-3``:
``$CREDIT_OUTBOX/inspections/<round>/kit_<plan_id>.json``. It holds the round's announcement
(source of the value, draw time, announcement time, the value and when it was recorded), the time
of the draw, the seed, the policy and the population count of each class, what was left out, the
sample sizes, the population each class drew from, the overrides and the subjects drawn.
``reference/verify_draw.py kit_<plan_id>.json`` (standard library only) recomputes the draw from the
file alone.

Subjects appear by their credit code (统一社会信用代码) only, never by name, and only an
organisation's: a code whose holder is a natural person is masked. That is an individual business
(个体工商户, credit code beginning ``92``: its registrant is a natural person), or a value that is not
a valid credit code or is shaped like a resident ID number (GB 11643, checksum and all). A masked
subject is listed as ``masked:<rank key>``, its rank key SHA-256 of ``<seed>|<credit code>``: the
ranking can be checked, the code is not shown. The population hashes of the plan cover the codes
themselves, so they are checked only in a kit without masked entries (``verify-draw`` inside the
platform checks them always).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform import uscc as codes
from credit_platform.grade_levels import CLASSES
from credit_platform.inspection.draw import plan_record, rank_key
from credit_platform.warehouse.urls import libpq_url

KIT_FORMAT = "credit-draw-kit-1"
KIT_VERSIONS = ("credit-draw-3",)
_ID18 = re.compile(r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]$")
_ID15 = re.compile(r"^[1-9]\d{7}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ABOUT = ("双随机抽查验证包：用 verify_draw.py（仅需 Python 标准库）可独立复核本次抽取；个体工商户等自然人主体只列排序值"
         " / verification kit of a double-random inspection draw: verify_draw.py (Python's standard library"
         " only) recomputes the draw from this file alone; natural persons' subjects appear as their rank key only")


def is_resident_id(code: str) -> bool:
    """Shaped like a resident ID number: the 15-digit form, or 18 characters with a valid check character."""
    if _ID15.match(code):
        return True
    if not _ID18.match(code):
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(code[:17], _ID_WEIGHTS, strict=True)) % 11] == code[17]


def is_public_code(code: str) -> bool:
    """An organisation's credit code that a public kit may show (see the module's docstring)."""
    return codes.is_valid(code) and not code.startswith("92") and not is_resident_id(code)


def public_form(seed: str, code: str) -> str:
    return code if is_public_code(code) else f"masked:{rank_key(seed, code)}"


def kit(conn: psycopg.Connection, plan_id: str) -> dict:
    """The kit of one plan (``credit-draw-3``), as written to the outbox."""
    record = plan_record(conn, plan_id)
    if record["algorithm_version"] not in KIT_VERSIONS:
        raise ValueError(f"{plan_id}: {record['algorithm_version']} plans have no kit (no announcement was recorded)")
    department, matter, industry, period, policy, exclusions = conn.execute(
        "SELECT department_code, matter_code, industry_code, evaluation_period, policy, exclusions"
        " FROM ops.inspection_plans WHERE plan_id = %s", (plan_id,)).fetchone()  # fmt: skip
    seed = record["seed_sha256"]

    def shown(usccs: list[str]) -> list[str]:
        return sorted(public_form(seed, u) for u in usccs)

    masked = sum(not is_public_code(u) for c in CLASSES for u in record["population"][c])
    return {
        "kit_format": KIT_FORMAT,
        "about": ABOUT,
        "plan_id": plan_id,
        "draw_round": record["draw_round"],
        "department_code": department,
        "matter_code": matter,
        "industry_code": industry,
        "evaluation_period": period,
        "algorithm_version": record["algorithm_version"],
        "announcement": record["announcement"],
        "drawn_at": record["drawn_at"],
        "announced_value": record["announced_value"],
        "seed_sha256": seed,
        "policy": policy.get("classes", {}),
        "population_counts": exclusions.get("population", {}),
        "capped": exclusions.get("capped", {}),
        "deregistered": exclusions.get("deregistered", 0),
        "sample_sizes": record["sample_sizes"],
        "population_sha256": record["population_sha256"],
        "masked_entries": masked,
        "population": {c: shown(record["population"][c]) for c in CLASSES},
        "overrides": {c: shown(record["overrides"][c]) for c in CLASSES},
        "drawn": {c: shown(record["drawn"][c]) for c in CLASSES},
    }


@dataclass
class Kit:
    plan_id: str
    path: Path
    status: str  # written, unchanged
    masked: int


def kit_dir(outbox: Path, draw_round: str) -> Path:
    return Path(outbox) / "inspections" / draw_round


def write(url: str, outbox: Path, draw_round: str) -> list[Kit]:
    """Write the kit of every public ``credit-draw-3`` plan of ``draw_round`` (as any role that
    reads ``ops``); a kit already there with the same content is left as it is."""
    out = []
    with psycopg.connect(libpq_url(url)) as conn:
        plans = [p for (p,) in conn.execute(
            "SELECT plan_id FROM ops.inspection_plans WHERE draw_round = %s AND disclosure = 'public'"
            " AND algorithm_version = ANY(%s) ORDER BY plan_id", (draw_round, list(KIT_VERSIONS)))]  # fmt: skip
        folder = kit_dir(outbox, draw_round)
        for plan_id in plans:
            content = kit(conn, plan_id)
            text = json.dumps(content, ensure_ascii=False, indent=1) + "\n"
            path = folder / f"kit_{plan_id}.json"
            if path.exists() and path.read_text(encoding="utf-8") == text:
                out.append(Kit(plan_id, path, "unchanged", content["masked_entries"]))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            out.append(Kit(plan_id, path, "written", content["masked_entries"]))
    return out

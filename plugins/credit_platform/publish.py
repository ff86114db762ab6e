"""Publication of industry credit grades to the sharing platforms' outboxes.

One file per platform and period in ``$CREDIT_OUTBOX/<platform>/``, UTF-8 CSV with Chinese
headers, recorded in ``ops.publications``. Nothing is published unless the latest marts
validation (``ops.validation_runs``) passed. Disclosure per platform (configurable later):
the city and prefecture platforms get the fully public columns (完全公开); the province gets the
internal set with scores (内部使用). Personal data is never selected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

from credit_platform.settings import paths
from credit_platform.warehouse.roles import libpq_url

log = logging.getLogger(__name__)

PLATFORMS = {"city": "public", "prefecture": "public", "province": "internal"}

PUBLIC_COLUMNS = [
    ("uscc", "统一社会信用代码"),
    ("subject_name", "主体名称"),
    ("industry_name", "行业"),
    ("department_name", "评价部门"),
    ("evaluation_period", "评价周期"),
    ("period_end_date", "评价截止日期"),
    ("grade", "信用等级"),
    ("grade_class", "等级类别"),
]
INTERNAL_COLUMNS = PUBLIC_COLUMNS + [
    ("score", "评价得分"),
    ("is_vetoed", "是否一票否决"),
    ("veto_rule_code", "否决规则"),
    ("has_sufficient_data", "数据是否充足"),
    ("rule_version", "规则版本"),
]


class PublicationBlocked(RuntimeError):
    pass


@dataclass
class Published:
    platform: str
    disclosure_level: str
    period: str
    path: Path
    rows: int
    sha256: str
    status: str  # written, unchanged


def latest_period(conn) -> str:
    row = conn.execute(
        "SELECT evaluation_period FROM marts.fct_industry_credit_grades ORDER BY period_end_date DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise PublicationBlocked("marts.fct_industry_credit_grades is empty: nothing to publish")
    return row[0]


def _check_validation(conn) -> None:
    row = conn.execute(
        "SELECT success, validated_at, details FROM ops.validation_runs WHERE stage = 'marts'"
        " ORDER BY validated_at DESC, validation_run_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise PublicationBlocked("the grades have not been validated (no marts checkpoint run): nothing published")
    if not row[0]:
        raise PublicationBlocked(f"the latest marts checkpoint ({row[1]:%Y-%m-%d %H:%M}) failed: nothing published")


def publish_grades(url: str, *, period: str | None = None, outbox: Path | None = None) -> list[Published]:
    outbox = outbox or paths().outbox
    out = []
    with psycopg.connect(libpq_url(url)) as conn:
        _check_validation(conn)
        period = period or latest_period(conn)
        from credit_platform.quality.drift import blocked

        why = blocked(conn, period)
        if why:
            raise PublicationBlocked(why)
        rows = conn.execute(
            """
            SELECT g.uscc, s.subject_name, i.industry_name, i.department_name, g.evaluation_period,
                   g.period_end_date, g.grade, g.grade_class, g.score, g.is_vetoed, g.veto_rule_code,
                   g.has_sufficient_data, g.rule_version
              FROM marts.fct_industry_credit_grades g
              JOIN marts.dim_subjects s USING (uscc)
              JOIN marts.dim_industries i USING (industry_code)
             WHERE g.evaluation_period = %s
             ORDER BY g.industry_code, g.uscc
            """,
            (period,),
        )
        names = [d.name for d in rows.description]
        records = [dict(zip(names, r, strict=True)) for r in rows.fetchall()]
        for platform, level in PLATFORMS.items():
            columns = PUBLIC_COLUMNS if level == "public" else INTERNAL_COLUMNS
            data = _csv(records, columns)
            digest = hashlib.sha256(data).hexdigest()
            target = outbox / platform / f"industry_credit_grades_{period}_{level}.csv"
            seen = conn.execute(
                "SELECT 1 FROM ops.publications WHERE platform = %s AND period = %s AND file_sha256 = %s",
                (platform, period, digest),
            ).fetchone()
            if seen and target.exists():
                out.append(Published(platform, level, period, target, len(records), digest, "unchanged"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            conn.execute(
                "INSERT INTO ops.publications (platform, disclosure_level, period, output_path, file_sha256,"
                " row_count, status) VALUES (%s, %s, %s, %s, %s, %s, 'prepared')",
                (platform, level, period, str(target), digest, len(records)),
            )
            conn.commit()
            out.append(Published(platform, level, period, target, len(records), digest, "written"))
            log.info("published %s rows for %s (%s) to %s", len(records), platform, level, target)
    return out


def _csv(records: list[dict], columns: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([label for _, label in columns])
    for r in records:
        w.writerow(["" if r[c] is None else ("是" if r[c] is True else "否" if r[c] is False else r[c])
                    for c, _ in columns])  # fmt: skip
    return ("\ufeff" + buf.getvalue()).encode("utf-8")

"""Set-based validation of a staged file: one SQL pass that types every cell and lists every reason.

Expensive checks (USCC normalisation and checksum, date parsing, grade spelling) run once per
distinct value, in small dictionary tables joined back to the rows, so a million rows of a few
thousand subjects cost a few thousand checks. The outcome is the temporary table ``validated``:
one row per staged row with the typed values, ``reasons`` (every problem, as ``code@column``) and
``flags`` (warnings on a row that loads). The loader and ``credit-platform check`` both use it.
"""

from __future__ import annotations

import datetime as dt
import json

from psycopg import sql

from credit_platform.ingest.config import Rules, Source
from credit_platform.ingest.stage import STAGING, Staged
from credit_platform.ingest.values import GRADES

VALIDATED = "validated"
_SPLIT = r"\s*[;；,，]\s*"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


def _cell(staged: Staged, name: str) -> sql.Composable | None:
    pos = staged.positions.get(name)
    return None if pos is None else sql.SQL("s.{}").format(sql.Identifier(f"c{pos}"))


def _nonblank(cell: sql.Composable) -> sql.Composable:
    return sql.SQL("nullif(btrim({}), '')").format(cell)


def build(conn, source: Source, staged: Staged, *, department: str | None, as_of: dt.date, rules: Rules) -> None:
    """Create the temporary table ``validated`` for the staged rows."""
    joins: list[sql.Composable] = []
    typed: list[sql.Composable] = []  # expressions in the lateral "t"
    errors: list[sql.Composable] = []
    flags: list[sql.Composable] = []
    lit = sql.Literal

    for col in source.columns:
        cell = _cell(staged, col.name)
        name = sql.Identifier(col.name)
        tcol = sql.SQL("t.{}").format(name)
        tag = lit(f"@{col.name}")
        if cell is None:
            typed.append(sql.SQL("NULL::{} AS {}").format(sql.SQL(_sql_type(col.type)), name))
            if col.required and col.type != "uscc":
                errors.append(sql.SQL("'required_missing' || {}").format(tag))
            elif col.type == "uscc":
                errors.append(sql.SQL("'uscc_missing' || {}").format(tag))
            continue

        if col.type == "uscc":
            _uscc_dictionary(conn, source, staged, cell, department, rules)
            joins.append(sql.SQL("LEFT JOIN d_uscc u ON u.raw = coalesce({}, '')").format(cell))
            resolvable = _cell(staged, "registration_number") or _cell(staged, "organisation_code")
            if resolvable is not None:
                reg = _cell(staged, "registration_number") or sql.SQL("NULL::text")
                org = _cell(staged, "organisation_code") or sql.SQL("NULL::text")
                joins.append(sql.SQL(
                    "LEFT JOIN d_reg r ON u.status = 'uscc_missing' AND r.reg = coalesce(btrim({}), '')"
                    " AND r.org = coalesce(btrim({}), '')").format(reg, org))  # fmt: skip
                typed.append(
                    sql.SQL("coalesce(CASE WHEN u.status = 'valid' THEN u.code END, r.uscc) AS {}").format(name)
                )
                errors.append(sql.SQL(
                    "CASE WHEN u.status = 'valid' OR r.uscc IS NOT NULL THEN NULL"
                    " WHEN u.status = 'uscc_missing' AND r.reg IS NOT NULL THEN 'uscc_unresolved_registration'"
                    " ELSE u.status END || {}").format(tag))  # fmt: skip
                flags.append(sql.SQL("CASE WHEN r.uscc IS NOT NULL THEN 'uscc_resolved_from_registration' END"))
            else:
                typed.append(sql.SQL("CASE WHEN u.status = 'valid' THEN u.code END AS {}").format(name))
                errors.append(sql.SQL("CASE WHEN u.status <> 'valid' THEN u.status END || {}").format(tag))
            flags.append(sql.SQL("u.flag"))
            flags.append(sql.SQL("u.division_flag"))
        elif col.type in ("date", "event_date"):
            alias = sql.Identifier(f"d_{col.name}")
            table = sql.Identifier(f"dd_{col.name}")
            conn.execute(sql.SQL(
                "CREATE TEMPORARY TABLE {} AS SELECT raw, ops.parse_date_text(raw) AS value"
                " FROM (SELECT DISTINCT {} AS raw FROM {} s WHERE {} IS NOT NULL) x").format(
                table, cell, sql.Identifier(STAGING), _nonblank(cell)))  # fmt: skip
            conn.execute(sql.SQL("ANALYZE {}").format(table))
            joins.append(sql.SQL("LEFT JOIN {} {} ON {}.raw = {}").format(table, alias, alias, cell))
            typed.append(sql.SQL("{}.value AS {}").format(alias, name))
            future = (sql.SQL(" WHEN {} > {} THEN 'event_date_in_future'").format(tcol, lit(as_of))
                      if col.type == "event_date" else sql.SQL(""))  # fmt: skip
            required = (sql.SQL(" WHEN {} IS NULL THEN 'required_missing'").format(_nonblank(cell))
                        if col.required else sql.SQL(""))  # fmt: skip
            errors.append(sql.SQL(
                "CASE WHEN {} IS NOT NULL AND {} IS NULL THEN 'date_unparseable'{}{} END || {}").format(
                _nonblank(cell), tcol, future, required, tag))  # fmt: skip
        elif col.type in ("amount", "score"):
            typed.append(
                sql.SQL(
                    "CASE WHEN btrim({c}) ~ {num} THEN btrim({c})::numeric ELSE ops.parse_number_text({c}) END AS {n}"
                ).format(c=cell, num=lit(_NUMBER), n=name)
            )
            bad = "amount_unparseable" if col.type == "amount" else "score_unparseable"
            negative = (
                sql.SQL(" WHEN {} < 0 THEN 'amount_negative'").format(tcol) if col.type == "amount" else sql.SQL("")
            )
            errors.append(sql.SQL(
                "CASE WHEN {nb} IS NOT NULL AND ({t} IS NULL OR abs({t}) >= 1e10) THEN {bad}{neg}{req} END"
                " || {tag}").format(
                nb=_nonblank(cell), t=tcol, bad=lit(bad), neg=negative, tag=tag,
                req=sql.SQL(" WHEN {} IS NULL THEN 'required_missing'").format(_nonblank(cell))
                if col.required else sql.SQL("")))  # fmt: skip
        elif col.type == "grade":
            conn.execute(sql.SQL(
                "CREATE TEMPORARY TABLE d_grade AS SELECT raw,"
                " upper(regexp_replace(normalize(raw, NFKC), '[[:space:]]', '', 'g')) AS norm"
                " FROM (SELECT DISTINCT {} AS raw FROM {} s WHERE {} IS NOT NULL) x").format(
                cell, sql.Identifier(STAGING), _nonblank(cell)))  # fmt: skip
            joins.append(sql.SQL("LEFT JOIN d_grade g ON g.raw = {}").format(cell))
            typed.append(sql.SQL("CASE WHEN g.norm = ANY({}) THEN g.norm END AS {}").format(lit(list(GRADES)), name))
            errors.append(sql.SQL(
                "CASE WHEN {t} IS NOT NULL THEN NULL WHEN {nb} IS NULL THEN {req}"
                " WHEN g.norm = ANY({words}) THEN 'grade_class_word' ELSE 'grade_invalid' END || {tag}").format(
                t=tcol, nb=_nonblank(cell), req=lit("required_missing" if col.required else None),
                words=lit(list(rules.grade_class_words)), tag=tag))  # fmt: skip
        elif col.type == "category":
            typed.append(sql.SQL("{} AS {}").format(_nonblank(cell), name))
            errors.append(sql.SQL(
                "CASE WHEN {t} IS NOT NULL AND NOT (regexp_split_to_array({t}, {split}) <@ {allowed})"
                " THEN 'penalty_category_unknown'{req} END || {tag}").format(
                t=tcol, split=lit(_SPLIT), allowed=lit(list(rules.penalty_categories)), tag=tag,
                req=sql.SQL(" WHEN {} IS NULL THEN 'required_missing'").format(tcol)
                if col.required else sql.SQL("")))  # fmt: skip
        elif col.type == "text_list":
            typed.append(sql.SQL(
                "coalesce(array_remove(regexp_split_to_array({}, {}), ''), '{{}}') AS {}").format(
                _nonblank(cell), lit(_SPLIT), name))  # fmt: skip
        else:  # text
            typed.append(sql.SQL("{} AS {}").format(_nonblank(cell), name))
            if col.required:
                errors.append(sql.SQL("CASE WHEN {} IS NULL THEN 'required_missing' END || {}").format(tcol, tag))

    category = _cell(staged, "subject_category")
    persons = lit(list(rules.natural_person_categories))
    natural = (sql.SQL("coalesce(btrim({}) = ANY({}), false)").format(category, persons)
               if category is not None else sql.SQL("false"))  # fmt: skip
    shape = sql.SQL("s.shape_error || '@row'")
    stmt = sql.SQL(
        "CREATE TEMPORARY TABLE {validated} AS"
        " SELECT s.row_number, t.*,"
        " CASE WHEN {natural} THEN '{{}}'::text[]"
        "      ELSE array_remove(ARRAY[{shape}, {errors}]::text[], NULL) END AS reasons,"
        " array_remove(ARRAY[{flags}]::text[], NULL) AS flags,"
        " {natural} AS is_natural_person, {original} AS uscc_original"
        " FROM {staging} s {joins}"
        " CROSS JOIN LATERAL (SELECT {typed}) t"
    ).format(
        validated=sql.Identifier(VALIDATED),
        natural=natural,
        original=_cell(staged, "uscc") or sql.SQL("NULL::text"),
        shape=shape,
        errors=sql.SQL(", ").join(errors) if errors else sql.SQL("NULL"),
        flags=sql.SQL(", ").join(flags) if flags else sql.SQL("NULL"),
        staging=sql.Identifier(STAGING),
        joins=sql.SQL(" ").join(joins),
        typed=sql.SQL(", ").join(typed),
    )
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(VALIDATED)))
    conn.execute(stmt)

    if source.conflict:
        key, value = source.conflict
        k = sql.SQL(", ").join(map(sql.Identifier, key))
        conn.execute(sql.SQL(
            "UPDATE {v} SET reasons = reasons || {code}::text FROM ("
            " SELECT {k} FROM {v} WHERE reasons = '{{}}' AND NOT is_natural_person GROUP BY {k}"
            " HAVING count(DISTINCT {val}) > 1) c WHERE {match} AND {v}.reasons = '{{}}'").format(
            v=sql.Identifier(VALIDATED), code=lit(f"{value}_conflict@{value}"), k=k, val=sql.Identifier(value),
            match=sql.SQL(" AND ").join(
                sql.SQL("{}.{} = c.{}").format(sql.Identifier(VALIDATED), sql.Identifier(c), sql.Identifier(c))
                for c in key)))  # fmt: skip


def _uscc_dictionary(conn, source, staged, cell, department, rules: Rules) -> None:
    allow = [code for dept, code in rules.allow_list if dept in ("*", department)]
    legacy = sql.SQL(" OR ").join(
        [sql.SQL("(substr(code, 3, {}) = {} AND substr(code, 9, {}) = {})").format(
            sql.Literal(len(d)), sql.Literal(d), sql.Literal(len(o)), sql.Literal(o))
         for d in rules.legacy_division_prefixes for o in rules.legacy_organisation_prefixes]
        or [sql.SQL("false")])  # fmt: skip
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE d_uscc AS"
        " SELECT raw, code,"
        "   CASE WHEN status = 'valid' THEN 'valid'"
        "        WHEN code = ANY({allow}) THEN 'valid'"
        "        WHEN status = 'uscc_invalid_checksum' AND ({legacy}) THEN 'valid'"
        "        ELSE status END AS status,"
        "   CASE WHEN status = 'valid' THEN NULL"
        "        WHEN code = ANY({allow}) THEN 'uscc_allow_listed'"
        "        WHEN status = 'uscc_invalid_checksum' AND ({legacy}) THEN 'uscc_legacy_checksum' END AS flag,"
        "   CASE WHEN status <> 'uscc_missing' AND code ~ '^.{{2}}[0-9]{{6}}'"
        "        AND NOT (substr(code, 3, 6) = ANY({city}))"
        "        THEN 'division_outside_city' END AS division_flag"
        " FROM (SELECT raw, code, ops.uscc_status(code) AS status"
        "       FROM (SELECT raw, ops.uscc_normalise(nullif(raw, '')) AS code"
        "             FROM (SELECT DISTINCT coalesce({cell}, '') AS raw FROM {staging} s) a"
        "             OFFSET 0) b OFFSET 0) c").format(
        allow=sql.Literal(allow), legacy=legacy, city=sql.Literal(list(rules.city_divisions)), cell=cell,
        staging=sql.Identifier(STAGING)))  # fmt: skip
    conn.execute("ANALYZE d_uscc")
    reg = _cell(staged, "registration_number")
    org = _cell(staged, "organisation_code")
    if reg is None and org is None:
        return
    reg = reg or sql.SQL("NULL::text")
    org = org or sql.SQL("NULL::text")
    # Rows without a USCC but with an old registration number or organisation code: resolved
    # through the subject register (latest load), or rejected.
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE d_reg AS"
        " WITH wanted AS (SELECT DISTINCT coalesce(btrim({reg}), '') AS reg, coalesce(btrim({org}), '') AS org"
        "   FROM {staging} s JOIN d_uscc u ON u.raw = coalesce({cell}, '') WHERE u.status = 'uscc_missing'"
        "   AND (nullif(btrim({reg}), '') IS NOT NULL OR nullif(btrim({org}), '') IS NOT NULL)),"
        " register AS (SELECT DISTINCT ON (uscc) uscc, old_registration_number FROM raw.subject_register"
        "   ORDER BY uscc, batch_id DESC, row_number DESC)"
        " SELECT w.reg, w.org, (SELECT r.uscc FROM register r"
        "   WHERE (w.reg <> '' AND r.old_registration_number = w.reg)"
        "      OR (w.reg = '' AND substr(r.uscc, 9, 9) = upper(regexp_replace(w.org, '[^0-9A-Za-z]', '', 'g')))"
        "   ORDER BY r.uscc LIMIT 1) AS uscc FROM wanted w").format(
        reg=reg, org=org, cell=cell, staging=sql.Identifier(STAGING)))  # fmt: skip


def _sql_type(kind: str) -> str:
    return {"date": "date", "event_date": "date", "amount": "numeric", "score": "numeric",
            "text_list": "text[]"}.get(kind, "text")  # fmt: skip


def reason_messages_json() -> str:
    from credit_platform.ingest.values import REASONS

    return json.dumps({k: v for k, v in REASONS.items()}, ensure_ascii=False)

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


DISTINCT_TYPES = ("date", "event_date", "amount", "score", "grade", "category")


def _distinct_values(conn, source: Source, staged: Staged) -> None:
    """Every distinct non-blank cell of the columns checked by dictionary, in one scan of the rows."""
    pairs = [sql.SQL("({}, s.{})").format(sql.Literal(c.name), sql.Identifier(f"c{staged.positions[c.name]}"))
             for c in source.columns if c.type in DISTINCT_TYPES and c.name in staged.positions]  # fmt: skip
    conn.execute("DROP TABLE IF EXISTS d_distinct")
    if not pairs:
        conn.execute("CREATE TEMPORARY TABLE d_distinct (col text, raw text)")
        return
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE d_distinct AS SELECT DISTINCT v.col, v.raw FROM {} s,"
        " LATERAL (VALUES {}) AS v(col, raw) WHERE v.raw IS NOT NULL AND btrim(v.raw) <> ''").format(
        sql.Identifier(STAGING), sql.SQL(", ").join(pairs)))  # fmt: skip


def _dictionary(conn, name: str, column: str, value: sql.Composable, error: sql.Composable) -> sql.Composable:
    """A table of the column's distinct non-blank cells with their typed value and error, joined back."""
    table = sql.Identifier(name)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE {t} AS SELECT raw, value, {error} AS err FROM ("
        " SELECT raw, {value} AS value FROM d_distinct WHERE col = {col} OFFSET 0) b").format(
        t=table, error=error, value=value, col=sql.Literal(column)))  # fmt: skip
    conn.execute(sql.SQL("ANALYZE {}").format(table))
    return table


def build(conn, source: Source, staged: Staged, *, department: str | None, as_of: dt.date, rules: Rules) -> None:
    """Create the temporary table ``validated`` for the staged rows."""
    _distinct_values(conn, source, staged)
    joins: list[sql.Composable] = []
    typed: list[sql.Composable] = []
    errors: list[sql.Composable] = []
    flags: list[sql.Composable] = []
    lit = sql.Literal

    for col in source.columns:
        cell = _cell(staged, col.name)
        name = sql.Identifier(col.name)
        tag = lit(f"@{col.name}")
        if cell is None:
            typed.append(sql.SQL("NULL::{} AS {}").format(sql.SQL(_sql_type(col.type)), name))
            continue
        alias = sql.Identifier(f"d_{col.name}")
        missing = lit(f"required_missing@{col.name}")
        blank_required = None
        if col.required:
            blank_required = sql.SQL("CASE WHEN {}.raw IS NULL THEN {} END").format(alias, missing)

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
                resolved = sql.SQL("coalesce(CASE WHEN u.status = 'valid' THEN u.code END, r.uscc) AS {}")
                typed.append(resolved.format(name))
                errors.append(sql.SQL(
                    "CASE WHEN u.status = 'valid' OR r.uscc IS NOT NULL THEN NULL"
                    " WHEN u.status = 'uscc_missing' AND r.reg IS NOT NULL THEN 'uscc_unresolved_registration'"
                    " ELSE u.status END || {}").format(tag))  # fmt: skip
                flags.append(sql.SQL("CASE WHEN r.uscc IS NOT NULL THEN 'uscc_resolved_from_registration' END"))
            else:
                typed.append(sql.SQL("CASE WHEN u.status = 'valid' THEN u.code END AS {}").format(name))
                errors.append(sql.SQL("CASE WHEN u.status <> 'valid' THEN u.status || {} END").format(tag))
            flags.append(sql.SQL("u.flag"))
            flags.append(sql.SQL("u.division_flag"))
            continue

        if col.type in ("date", "event_date"):
            future = (sql.SQL(" WHEN value > {} THEN 'event_date_in_future'").format(lit(as_of))
                      if col.type == "event_date" else sql.SQL(""))  # fmt: skip
            error = sql.SQL("CASE WHEN value IS NULL THEN 'date_unparseable'{} END || {}").format(future, tag)
            table = _dictionary(conn, f"dd_{col.name}", col.name, sql.SQL("ops.parse_date_text(raw)"), error)
        elif col.type in ("amount", "score"):
            bad = "amount_unparseable" if col.type == "amount" else "score_unparseable"
            negative = sql.SQL(" WHEN value < 0 THEN 'amount_negative'") if col.type == "amount" else sql.SQL("")
            value = sql.SQL("CASE WHEN btrim(raw) ~ {} THEN btrim(raw)::numeric ELSE ops.parse_number_text(raw) END"
                            ).format(lit(_NUMBER))  # fmt: skip
            error = sql.SQL("CASE WHEN value IS NULL OR abs(value) >= 1e10 THEN {}{} END || {}").format(
                lit(bad), negative, tag)  # fmt: skip
            table = _dictionary(conn, f"dd_{col.name}", col.name, value, error)
        elif col.type == "grade":
            norm = sql.SQL("upper(regexp_replace(normalize(raw, NFKC), '[[:space:]]', '', 'g'))")
            error = sql.SQL(
                "CASE WHEN value = ANY({grades}) THEN NULL WHEN value = ANY({words}) THEN 'grade_class_word'"
                " ELSE 'grade_invalid' END || {tag}").format(
                grades=lit(list(GRADES)), words=lit(list(rules.grade_class_words)), tag=tag)  # fmt: skip
            table = _dictionary(conn, f"dd_{col.name}", col.name, norm, error)
            typed.append(sql.SQL("CASE WHEN {a}.err IS NULL THEN {a}.value END AS {n}").format(a=alias, n=name))
            joins.append(sql.SQL("LEFT JOIN {} {} ON {}.raw = {}").format(table, alias, alias, cell))
            errors.append(sql.SQL("{}.err").format(alias))
            if blank_required is not None:
                errors.append(blank_required)
            continue
        elif col.type == "category":
            error = sql.SQL(
                "CASE WHEN NOT (regexp_split_to_array(value, {}) <@ {}) THEN 'penalty_category_unknown' END || {}"
            ).format(lit(_SPLIT), lit(list(rules.penalty_categories)), tag)  # fmt: skip
            table = _dictionary(conn, f"dd_{col.name}", col.name, sql.SQL("btrim(raw)"), error)
        else:
            if col.type == "text_list":
                typed.append(sql.SQL(
                    "coalesce(array_remove(regexp_split_to_array(btrim({}), {}), ''), '{{}}') AS {}").format(
                    cell, lit(_SPLIT), name))  # fmt: skip
            else:
                typed.append(sql.SQL("nullif({}, '') AS {}").format(cell, name))
            if col.required:
                errors.append(sql.SQL("CASE WHEN {} IS NULL OR btrim({}) = '' THEN {} END").format(
                    cell, cell, lit(f"required_missing@{col.name}")))  # fmt: skip
            continue

        joins.append(sql.SQL("LEFT JOIN {} {} ON {}.raw = {}").format(table, alias, alias, cell))
        typed.append(sql.SQL("CASE WHEN {a}.err IS NULL THEN {a}.value END AS {n}").format(a=alias, n=name))
        errors.append(sql.SQL("{}.err").format(alias))
        if blank_required is not None:
            errors.append(blank_required)

    category = _cell(staged, "subject_category")
    persons = lit(list(rules.natural_person_categories))
    natural = (sql.SQL("coalesce(btrim({}) = ANY({}), false)").format(category, persons)
               if category is not None else sql.SQL("false"))  # fmt: skip
    stmt = sql.SQL(
        "CREATE TEMPORARY TABLE {validated} AS"
        " SELECT s.row_number, {typed},"
        " CASE WHEN {natural} THEN '{{}}'::text[]"
        "      ELSE array_remove(ARRAY[s.shape_error || '@row', {errors}]::text[], NULL) END AS reasons,"
        " array_remove(ARRAY[{flags}]::text[], NULL) AS flags,"
        " {natural} AS is_natural_person, {original} AS uscc_original"
        " FROM {staging} s {joins}"
    ).format(
        validated=sql.Identifier(VALIDATED),
        natural=natural,
        original=_cell(staged, "uscc") or sql.SQL("NULL::text"),
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
    conn.execute("DROP TABLE IF EXISTS d_uscc")
    conn.execute("DROP TABLE IF EXISTS d_reg")
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

    return json.dumps(REASONS, ensure_ascii=False)

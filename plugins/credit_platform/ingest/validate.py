"""Set-based validation of landed rows: every problem of every row, found in a few SQL passes.

Expensive checks (USCC normalisation and checksum, date parsing, grade spelling) run once per
distinct value, in small dictionary tables: one scan of the landed rows collects the distinct
cells of every checked column (``GROUPING SETS``), a second picks out the rows that need
anything. The outcome is the temporary table ``row_issues``, holding only those rows: ``reasons``
(every problem, as ``code@column``; such a row is rejected), ``flags`` (warnings on a row that
loads), ``is_natural_person``, ``is_pending`` (a returned form's row not filled in yet: the
source's ``returned_by`` columns all blank) and ``uscc`` (the normalised or register-resolved code). The loader
and ``credit-platform check`` both use it, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import json

from psycopg import sql

from credit_platform.ingest.config import Column, Rules, Source
from credit_platform.ingest.stage import Landed
from credit_platform.ingest.values import GRADES

ISSUES = "row_issues"
_SUSPECT = sql.SQL("status <> 'valid' OR flag IS NOT NULL OR division_flag IS NOT NULL OR code <> raw")
_SPLIT = r"\s*[;；,，]\s*"
DISTINCT_TYPES = ("date", "event_date", "amount", "score", "grade", "category", "enum", "period")
_VALUE = {"date": "ops.to_date(raw)", "event_date": "ops.to_date(raw)", "amount": "ops.to_number(raw)",
          "score": "ops.to_number(raw)", "grade": "ops.to_grade(raw)", "category": "btrim(raw)",
          "enum": "ops.to_code(raw)", "period": "ops.to_code(raw)"}  # fmt: skip
_PERIOD = r"^[0-9]{4}(-H[12]|-Q[1-4])?$"


def _by_dictionary(col: Column) -> bool:
    """Checked once per distinct cell (an enum whose values depend on another column is checked per row)."""
    return col.type in DISTINCT_TYPES and col.values_by is None


def _distinct_values(conn, source: Source, landed: Landed) -> None:
    """Every distinct cell of the columns checked by dictionary, in one scan of the landed rows."""
    checked = [c.name for c in source.columns
               if (_by_dictionary(c) or c.type == "uscc") and c.name in landed.positions]  # fmt: skip
    conn.execute("DROP TABLE IF EXISTS d_distinct")
    if not checked:
        conn.execute("CREATE TEMPORARY TABLE d_distinct (col text, raw text)")
        return
    # The credit code's blank cell is kept (as ''): it is the "missing" entry of its dictionary.
    exprs = [sql.SQL("coalesce(s.{c}, '') AS {c}" if source.column(c).type == "uscc" else "s.{c} AS {c}").format(
        c=sql.Identifier(c)) for c in checked]  # fmt: skip
    ids = [sql.Identifier(c) for c in checked]
    which = sql.SQL(" ").join(sql.SQL("WHEN GROUPING({}) = 0 THEN {}").format(i, sql.Literal(c))
                              for i, c in zip(ids, checked, strict=True))  # fmt: skip
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE d_distinct AS SELECT col, raw FROM ("
        " SELECT CASE {which} END AS col, coalesce({ids}) AS raw FROM (SELECT {exprs} FROM {rel} s WHERE {where}) q"
        " GROUP BY GROUPING SETS ({sets})) g"
        " WHERE raw IS NOT NULL AND (col = {uscc} OR btrim(raw) <> '')").format(
        which=which, ids=sql.SQL(", ").join(ids), exprs=sql.SQL(", ").join(exprs), rel=landed.relation,
        where=landed.where, sets=sql.SQL(", ").join(sql.SQL("({})").format(i) for i in ids),
        uscc=sql.Literal(next((c.name for c in source.columns if c.type == "uscc"), ""))))  # fmt: skip


def _dictionary(conn, name: str, column: str, value: sql.Composable, error: sql.Composable) -> sql.Identifier:
    """A table of the column's distinct non-blank cells with their typed value and error."""
    table = sql.Identifier(name)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE {t} AS SELECT raw, value, {error} AS err FROM ("
        " SELECT raw, {value} AS value FROM d_distinct WHERE col = {col} OFFSET 0) b").format(
        t=table, error=error, value=value, col=sql.Literal(column)))  # fmt: skip
    conn.execute(sql.SQL("ANALYZE {}").format(table))
    return table


def _any_error(conn, table: sql.Identifier) -> bool:
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE err IS NOT NULL)").format(table)).fetchone()[0]


def build(conn, source: Source, landed: Landed, *, department: str | None, as_of: dt.date, rules: Rules) -> int:
    """Create the temporary table ``row_issues`` for the landed rows; returns how many are blank (not rows)."""
    _distinct_values(conn, source, landed)
    joins: list[sql.Composable] = []
    errors: list[sql.Composable] = []
    flags: list[sql.Composable] = []
    suspects: list[sql.Composable] = []  # conditions that pick the rows needing anything
    typed: dict[str, sql.Composable] = {}  # the typed value of a column (for the conflict rule)
    lit = sql.Literal
    resolved = sql.SQL("NULL::text")

    for col in source.columns:
        cell = landed.cell(col.name)
        if cell is None:
            if col.required:  # the header lacks it: no row can be graded
                errors.append(lit(f"required_column_missing@{col.name}"))
                suspects.append(sql.SQL("true"))
            continue
        tag = lit(f"@{col.name}")
        alias = sql.Identifier(f"d_{col.name}")
        missing = lit(f"required_missing@{col.name}")

        if col.type == "uscc":
            _uscc_dictionary(conn, landed, col.name, cell, department, rules)
            joins.append(sql.SQL("LEFT JOIN d_uscc u ON u.raw = coalesce({}, '')").format(cell))
            suspects.append(sql.SQL("coalesce({}, '') IN (SELECT raw FROM d_uscc WHERE {})").format(cell, _SUSPECT))
            reg_cell = landed.cell("registration_number")
            org_cell = landed.cell("organisation_code")
            if reg_cell is not None or org_cell is not None:
                reg = reg_cell or sql.SQL("NULL::text")
                org = org_cell or sql.SQL("NULL::text")
                joins.append(sql.SQL(
                    "LEFT JOIN d_reg r ON u.status = 'uscc_missing' AND r.reg = coalesce(btrim({}), '')"
                    " AND r.org = coalesce(btrim({}), '')").format(reg, org))  # fmt: skip
                resolved = sql.SQL("coalesce(CASE WHEN u.status = 'valid' THEN u.code END, r.uscc)")
                errors.append(sql.SQL(
                    "CASE WHEN u.status = 'valid' OR r.uscc IS NOT NULL THEN NULL"
                    " WHEN u.status = 'uscc_missing' AND r.reg IS NOT NULL THEN 'uscc_unresolved_registration'"
                    " ELSE u.status END || {}").format(tag))  # fmt: skip
                flags.append(sql.SQL("CASE WHEN r.uscc IS NOT NULL THEN 'uscc_resolved_from_registration' END"))
            else:
                resolved = sql.SQL("CASE WHEN u.status = 'valid' THEN u.code END")
                errors.append(sql.SQL("CASE WHEN u.status <> 'valid' THEN u.status || {} END").format(tag))
            flags.append(sql.SQL("u.flag"))
            flags.append(sql.SQL("u.division_flag"))
            typed[col.name] = resolved
            continue

        if col.values_by is not None:
            _per_row_enum(col, landed, cell, tag, missing, errors, suspects)
            typed[col.name] = sql.SQL("ops.to_code({})").format(cell)
            continue

        if _by_dictionary(col):
            value = sql.SQL(_VALUE[col.type])
            if col.type in ("date", "event_date"):
                future = (sql.SQL(" WHEN value > {} THEN 'event_date_in_future'").format(lit(as_of))
                          if col.type == "event_date" else sql.SQL(""))  # fmt: skip
                error = sql.SQL("CASE WHEN value IS NULL THEN 'date_unparseable'{} END || {}").format(future, tag)
            elif col.type in ("amount", "score"):
                bad = "amount_unparseable" if col.type == "amount" else "score_unparseable"
                negative = sql.SQL(" WHEN value < 0 THEN 'amount_negative'") if col.type == "amount" else sql.SQL("")
                error = sql.SQL("CASE WHEN value IS NULL OR abs(value) >= 1e10 THEN {}{} END || {}").format(
                    lit(bad), negative, tag)  # fmt: skip
            elif col.type == "grade":
                error = sql.SQL(
                    "CASE WHEN value = ANY({grades}) THEN NULL WHEN value = ANY({words}) THEN 'grade_class_word'"
                    " ELSE 'grade_invalid' END || {tag}").format(
                    grades=lit(list(GRADES)), words=lit(list(rules.grade_class_words)), tag=tag)  # fmt: skip
            elif col.type == "enum":
                error = sql.SQL("CASE WHEN NOT (value = ANY({})) THEN 'value_not_allowed' END || {}").format(
                    lit(list(col.values)), tag)  # fmt: skip
            elif col.type == "period":
                error = sql.SQL("CASE WHEN value !~ {} THEN 'period_invalid' END || {}").format(lit(_PERIOD), tag)
            else:  # category
                error = sql.SQL(
                    "CASE WHEN NOT (regexp_split_to_array(value, {}) <@ {}) THEN 'penalty_category_unknown' END || {}"
                ).format(lit(_SPLIT), lit(list(rules.penalty_categories)), tag)  # fmt: skip
            table = _dictionary(conn, f"dd_{col.name}", col.name, value, error)
            joins.append(sql.SQL("LEFT JOIN {} {} ON {}.raw = {}").format(table, alias, alias, cell))
            errors.append(sql.SQL("{}.err").format(alias))
            if _any_error(conn, table):  # a column without a bad value needs no look at the rows
                suspects.append(sql.SQL("{} IN (SELECT raw FROM {} WHERE err IS NOT NULL)").format(cell, table))
            typed[col.name] = sql.SQL("{}.value").format(alias)
            if col.required:
                errors.append(sql.SQL("CASE WHEN {}.raw IS NULL THEN {} END").format(alias, missing))
                suspects.append(sql.SQL("{c} IS NULL OR btrim({c}) = ''").format(c=cell))
            continue

        typed[col.name] = cell
        if col.required:
            errors.append(sql.SQL("CASE WHEN {c} IS NULL OR btrim({c}) = '' THEN {m} END").format(c=cell, m=missing))
            suspects.append(sql.SQL("{c} IS NULL OR btrim({c}) = ''").format(c=cell))

    category = landed.cell("subject_category")
    persons = lit(list(rules.natural_person_categories))
    natural = (sql.SQL("coalesce(btrim({}) = ANY({}), false)").format(category, persons)
               if category is not None else sql.SQL("false"))  # fmt: skip
    shape = sql.SQL("s.shape_error || '@row'") if landed.has_shape_errors else sql.SQL("NULL")
    if landed.has_shape_errors:
        suspects.append(sql.SQL("s.shape_error IS NOT NULL"))
    suspects.append(natural)
    # A row of empty cells (",,,," lines at the end of an export) is not a row, as a blank line is not.
    blank = sql.SQL(" AND ").join(sql.SQL("({c} IS NULL OR btrim({c}) = '')").format(c=sql.SQL("s.{}").format(
        sql.Identifier(c))) for c in landed.columns) if landed.columns else sql.SQL("false")  # fmt: skip
    if not any(c.required for c in source.columns):  # else a blank row already fails a required cell
        suspects.append(blank)
    pending = _not_returned(source, landed)
    if pending is not None:
        suspects.append(pending)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(ISSUES)))
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE {issues} AS"
        " SELECT row_number, tid, is_blank, is_natural_person AND NOT is_blank AS is_natural_person,"
        "   is_pending AND NOT is_blank AND NOT is_natural_person AS is_pending,"
        "   CASE WHEN is_blank OR (is_pending AND NOT is_natural_person) THEN '{{}}' ELSE reasons END AS reasons,"
        "   CASE WHEN is_blank OR (is_pending AND NOT is_natural_person) THEN '{{}}' ELSE flags END AS flags,"
        "   uscc FROM ("
        " SELECT s.row_number, s.tid, {blank} AS is_blank, {natural} AS is_natural_person, {pending} AS is_pending,"
        " CASE WHEN {natural} THEN '{{}}'::text[]"
        "      ELSE array_remove(ARRAY[{shape}, {errors}]::text[], NULL) END AS reasons,"
        " array_remove(ARRAY[{flags}]::text[], NULL) AS flags,"
        " {resolved} AS uscc"
        " FROM (SELECT s.ctid AS tid, s.* FROM {rel} s WHERE {where} AND ({suspects})) s {joins}) i").format(
        issues=sql.Identifier(ISSUES), natural=natural, shape=shape, blank=blank,
        pending=pending if pending is not None else sql.SQL("false"),
        errors=sql.SQL(", ").join(errors) if errors else sql.SQL("NULL"),
        flags=sql.SQL(", ").join(flags) if flags else sql.SQL("NULL"),
        resolved=resolved, rel=landed.relation, where=landed.where,
        suspects=sql.SQL(" OR ").join(sql.SQL("({})").format(c) for c in suspects), joins=sql.SQL(" ").join(joins),
    ))  # fmt: skip

    if source.conflict:
        _conflicts(conn, source, landed, joins, typed)
    _cell_warnings(conn, landed)
    return conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE is_blank").format(sql.Identifier(ISSUES))).fetchone()[0]


def _not_returned(source: Source, landed: Landed) -> sql.Composable | None:
    """A form's row the department has not filled in: every ``returned_by`` column of the file blank."""
    cells = [landed.cell(c) for c in source.returned_by if landed.cell(c) is not None]
    if not cells:  # not a returned form (or none of its columns in the header: the missing columns say so)
        return None
    return sql.SQL(" AND ").join(sql.SQL("({c} IS NULL OR btrim({c}) = '')").format(c=c) for c in cells)


def not_returned(conn) -> int:
    """How many rows of ``row_issues`` are not yet returned (after ``build``)."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE is_pending").format(sql.Identifier(ISSUES))
    return conn.execute(query).fetchone()[0]


def _cell_warnings(conn, landed: Landed) -> None:
    """The warnings of reading (a formula without its result, a NUL removed) as flags of their rows.

    Only cells of the source's columns count (the others are not loaded). A row that needed nothing
    else joins ``row_issues`` with just these flags; its credit code, which needed nothing, is kept.
    """
    found = [(n, w) for n, w in landed.cell_warnings if w.partition("@")[2] in landed.positions]
    if not found:
        return
    conn.execute("DROP TABLE IF EXISTS cell_warnings")
    conn.execute("CREATE TEMPORARY TABLE cell_warnings (row_number integer NOT NULL, flag text NOT NULL)")
    with conn.cursor() as cur, cur.copy("COPY cell_warnings (row_number, flag) FROM STDIN") as cp:
        for row in found:
            cp.write_row(row)
    issues = sql.Identifier(ISSUES)
    per_row = sql.SQL("(SELECT row_number, array_agg(DISTINCT flag ORDER BY flag) AS flags FROM cell_warnings"
                      " GROUP BY row_number) w")  # fmt: skip
    conn.execute(sql.SQL("UPDATE {i} SET flags = {i}.flags || w.flags FROM {w}"
                         " WHERE w.row_number = {i}.row_number AND NOT {i}.is_blank AND NOT {i}.is_pending").format(
        i=issues, w=per_row))  # fmt: skip
    uscc = landed.cell("uscc") or sql.SQL("NULL::text")
    conn.execute(sql.SQL(
        "INSERT INTO {i} (row_number, tid, is_blank, is_natural_person, is_pending, reasons, flags, uscc)"
        " SELECT s.row_number, s.ctid, false, false, false, '{{}}', w.flags, {uscc}"
        " FROM {rel} s JOIN {w} USING (row_number)"
        " WHERE {where} AND NOT EXISTS (SELECT FROM {i} WHERE {i}.row_number = s.row_number)").format(
        i=issues, uscc=uscc, rel=landed.relation, w=per_row, where=landed.where))  # fmt: skip


def _per_row_enum(col: Column, landed: Landed, cell, tag, missing, errors: list, suspects: list) -> None:
    """An enum whose allowed values depend on another cell of the row (a grade on its system's scale)."""
    other, allowed = col.values_by
    other_cell = landed.cell(other)
    if other_cell is None:
        return
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(k), sql.Literal(list(v))) for k, v in allowed.items())
    scale = sql.SQL("(CASE ops.to_code({}) {} END)::text[]").format(other_cell, whens)
    # An unknown system is the other column's own error; here only a value off its system's scale.
    bad = sql.SQL("ops.to_code({c}) IS NOT NULL AND NOT coalesce(ops.to_code({c}) = ANY({s}), true)").format(
        c=cell, s=scale)  # fmt: skip
    errors.append(sql.SQL("CASE WHEN {} THEN 'value_not_allowed' || {} END").format(bad, tag))
    suspects.append(bad)
    if col.required:
        errors.append(sql.SQL("CASE WHEN ops.to_code({}) IS NULL THEN {} END").format(cell, missing))
        suspects.append(sql.SQL("ops.to_code({}) IS NULL").format(cell))


def _conflicts(conn, source: Source, landed: Landed, joins: list, typed: dict) -> None:
    """Rows agreeing on the key but not on the value (two grades for one subject and date): all rejected."""
    key, value = source.conflict
    if any(c not in typed for c in (*key, value)):
        return
    exprs = sql.SQL(", ").join(sql.SQL("{} AS {}").format(typed[c], sql.Identifier(c)) for c in (*key, value))
    k = sql.SQL(", ").join(map(sql.Identifier, key))
    conn.execute("DROP TABLE IF EXISTS conflicts")
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE conflicts AS"
        " WITH typed AS (SELECT s.row_number, s.ctid AS tid, {exprs} FROM {rel} s {joins}"
        "   WHERE {where} AND NOT EXISTS (SELECT FROM {issues} i WHERE i.row_number = s.row_number"
        "     AND (i.reasons <> '{{}}' OR i.is_natural_person OR i.is_blank OR i.is_pending)))"
        " SELECT t.row_number, t.tid FROM typed t JOIN (SELECT {k} FROM typed GROUP BY {k}"
        "   HAVING count(DISTINCT {v}) > 1) c USING ({k})").format(
        exprs=exprs, rel=landed.relation, joins=sql.SQL(" ").join(joins), where=landed.where,
        issues=sql.Identifier(ISSUES), k=k, v=sql.Identifier(value)))  # fmt: skip
    code = sql.Literal(f"{value}_conflict@{value}")
    conn.execute(sql.SQL("UPDATE {i} SET reasons = reasons || {code}::text FROM conflicts c"
                         " WHERE c.row_number = {i}.row_number").format(i=sql.Identifier(ISSUES), code=code))
    conn.execute(sql.SQL(
        "INSERT INTO {i} (row_number, tid, is_blank, is_natural_person, is_pending, reasons, flags)"
        " SELECT c.row_number, c.tid, false, false, false, ARRAY[{code}::text], '{{}}' FROM conflicts c"
        " WHERE NOT EXISTS (SELECT FROM {i} WHERE {i}.row_number = c.row_number)").format(
        i=sql.Identifier(ISSUES), code=code))  # fmt: skip


def _uscc_dictionary(conn, landed: Landed, name: str, cell, department, rules: Rules) -> None:
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
        "             FROM d_distinct WHERE col = {name} OFFSET 0) b OFFSET 0) c").format(
        allow=sql.Literal(allow), legacy=legacy, city=sql.Literal(list(rules.city_divisions)),
        name=sql.Literal(name)))  # fmt: skip
    conn.execute("ANALYZE d_uscc")
    reg = landed.cell("registration_number")
    org = landed.cell("organisation_code")
    if reg is None and org is None:
        return
    reg = reg or sql.SQL("NULL::text")
    org = org or sql.SQL("NULL::text")
    # Rows without a USCC but with an old registration number or organisation code: resolved
    # through the subject register (latest load), or rejected.
    conn.execute(sql.SQL(
        "CREATE TEMPORARY TABLE d_reg AS"
        " WITH wanted AS (SELECT DISTINCT coalesce(btrim({reg}), '') AS reg, coalesce(btrim({org}), '') AS org"
        "   FROM {rel} s JOIN d_uscc u ON u.raw = coalesce({cell}, '') WHERE {where} AND u.status = 'uscc_missing'"
        "   AND (nullif(btrim({reg}), '') IS NOT NULL OR nullif(btrim({org}), '') IS NOT NULL)),"
        " register AS (SELECT DISTINCT ON (uscc) uscc, old_registration_number FROM raw.subject_register"
        "   WHERE batch_id NOT IN (SELECT batch_id FROM ops.load_batches WHERE status = 'quarantined')"
        "   ORDER BY uscc, batch_id DESC, row_number DESC)"
        " SELECT w.reg, w.org, (SELECT r.uscc FROM register r"
        "   WHERE (w.reg <> '' AND r.old_registration_number = w.reg)"
        "      OR (w.reg = '' AND substr(r.uscc, 9, 9) = upper(regexp_replace(w.org, '[^0-9A-Za-z]', '', 'g')))"
        "   ORDER BY r.uscc LIMIT 1) AS uscc FROM wanted w").format(
        reg=reg, org=org, cell=cell, rel=landed.relation, where=landed.where))  # fmt: skip


def reason_messages_json() -> str:
    from credit_platform.ingest.values import REASONS

    return json.dumps(REASONS, ensure_ascii=False)

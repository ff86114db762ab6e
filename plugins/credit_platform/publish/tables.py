"""The ``publish`` schema: what may be shared, rebuilt from the marts at every publication.

One table per dataset (``publish.grades``, ``publish.penalties``, ``publish.licences``,
``publish.commendations``, ``publish.commitments``, ``publish.inspections``), each row with its key
(``item_key``) and its disclosure level, and only the columns some level may carry
(``publication.yml``): no ID number is ever selected. Views give each audience its part and
nothing more:

* ``publish.public_<dataset>``: fully public rows, public columns (copied into
  ``publish.<dataset>__public`` at each swap, so that no reader's query touches another row);
  granted to the public reader (and to authorised recipients);
* ``publish.authorised_<dataset>``: authorised rows with the authorised columns, each recipient
  seeing only the subjects that authorised it (``ops.recipient_authorisations``, by the
  connected role), read through ``publish.authorised_<dataset>_rows()``, a SECURITY DEFINER
  PL/pgSQL function, so that no query of a recipient, ``EXPLAIN ANALYZE`` included, touches
  another subject's rows; granted to ``credit_authorised``.

Internal rows and columns stay in the base tables, which no outside role may read. Tables and
views are owned by the publisher and rebuilt in one transaction, so a reader sees either the old
state or the new one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import psycopg
from psycopg import sql

from credit_platform.publish.config import PARTNER_DATASET, Config, Dataset
from credit_platform.warehouse import access
from credit_platform.warehouse.roles import recipient_role_name

log = logging.getLogger(__name__)

# Columns every base table has besides those of the configuration.
KEY_COLUMNS = ("item_key", "disclosure_level")

# 主要原因 (publication.yml main_reasons): in Chinese only, the lines of a grade's explanation that
# moved it, largest effect first, at most max_items (five), joined with '；'. A line that decided the
# grade comes first (the veto or list that forced it, the data-shortage cap that held it down, the
# adjustment that set it), and only when the grade is not the one its score gives (a veto on a
# subject whose score already gave D changed nothing); then each indicator that lost points
# (weight minus points > 0), as its Chinese name and the points lost (有效期内行政处罚 -12分), the
# most points first. Indicators at full marks are not named.
_GRADES = """
WITH score_grades AS (
    SELECT g.uscc, g.industry_code, g.evaluation_period, l.grade AS score_grade
      FROM marts.fct_industry_credit_grades AS g
      JOIN marts.dim_grade_levels AS l
        ON l.rule_version = g.rule_version AND g.score <= l.upper_bound
       AND (g.score > l.lower_bound OR (l.is_lower_inclusive AND g.score >= l.lower_bound))
),
lines AS (
    SELECT e.uscc, e.industry_code, e.evaluation_period, e.line_number,
           CASE WHEN e.line_kind = 'indicator' THEN e.weight - e.points END AS lost,
           CASE e.line_kind
               WHEN 'indicator'
                   THEN coalesce(d.indicator_name, e.indicator_code) || ' -' || trim_scale(e.weight - e.points) || '分'
               WHEN 'adjustment' THEN CASE e.rule_code WHEN 'OBJECTION_CORRECTION' THEN %(reason_objection)s
                                      ELSE %(reason_adjustment)s END
               WHEN 'cap' THEN %(reason_cap)s
               WHEN 'veto' THEN CASE e.rule_code WHEN 'SERIOUS_DISHONESTY' THEN %(reason_serious_dishonesty)s
                                ELSE %(reason_veto)s || replace(regexp_replace(e.detail, '，等级(不高于|为).*$', ''),
                                                                ': ', '：') END
           END AS reason
      FROM marts.fct_grade_explanations AS e
      JOIN marts.fct_industry_credit_grades AS g USING (uscc, industry_code, evaluation_period)
      LEFT JOIN score_grades AS s USING (uscc, industry_code, evaluation_period)
      LEFT JOIN marts.dim_indicators AS d
        ON d.rule_version = e.rule_version AND d.industry_code = e.industry_code AND d.indicator_code = e.indicator_code
     WHERE CASE e.line_kind
               WHEN 'indicator' THEN e.points < e.weight
               WHEN 'adjustment' THEN g.adjustment_id IS NOT NULL AND g.grade IS DISTINCT FROM s.score_grade
               WHEN 'veto' THEN e.rule_code = g.veto_rule_code AND g.adjustment_id IS NULL
                                AND g.grade IS DISTINCT FROM s.score_grade
               ELSE NOT g.is_vetoed AND g.adjustment_id IS NULL AND g.grade IS DISTINCT FROM s.score_grade
           END
),
ranked AS (
    SELECT uscc, industry_code, evaluation_period, reason,
           row_number() OVER (PARTITION BY uscc, industry_code, evaluation_period
                              ORDER BY lost IS NOT NULL, lost DESC, line_number) AS rank
      FROM lines
),
reasons AS (
    SELECT uscc, industry_code, evaluation_period, string_agg(reason, '；' ORDER BY rank) AS main_reasons
      FROM ranked WHERE rank <= %(max_reasons)s GROUP BY 1, 2, 3
)
SELECT g.industry_code || '|' || g.uscc || '|' || g.evaluation_period || '|' || g.grade AS item_key,
       coalesce(%(levels)s::jsonb ->> g.industry_code, %(default_level)s) AS disclosure_level,
       g.industry_code, i.department_code, {columns}
  FROM marts.fct_industry_credit_grades AS g
  JOIN marts.dim_subjects AS s USING (uscc)
  JOIN marts.dim_industries AS i USING (industry_code)
  LEFT JOIN reasons AS r USING (uscc, industry_code, evaluation_period)
"""
# Where each grade column comes from.
_GRADE_SOURCES = {
    "subject_name": "s.subject_name", "industry_name": "i.industry_name", "department_name": "i.department_name",
    "main_reasons": "coalesce(r.main_reasons, '')",
}  # fmt: skip

_RECORDS = """
SELECT r.record_key AS item_key, %(level)s::text AS disclosure_level, r.department_code, {columns}
  FROM marts.fct_shared_records AS r
 WHERE r.record_type = %(record_type)s
   AND r.publication_start_date <= %(as_of)s
   AND (r.publication_end_date IS NULL
        OR (r.publication_end_date > r.publication_start_date AND r.publication_end_date >= %(as_of)s))
   AND (r.repaired_date IS NULL OR r.repaired_date > %(as_of)s)
"""
RECORD_TYPES = {"penalties": "penalty", "licences": "licence", "commendations": "commendation",
                "commitments": "commitment"}

_CREDIT_PLUS = """
WITH programmes AS (
    SELECT p ->> 'name' AS programme, p ->> 'title' AS programme_title, p ->> 'partner' AS partner,
           p ->> 'recipient_role' AS recipient_role,
           ARRAY(SELECT jsonb_array_elements_text(p -> 'classes')) AS classes,
           ARRAY(SELECT jsonb_array_elements_text(p -> 'industries')) AS industries
      FROM jsonb_array_elements(%(programmes)s::jsonb) AS p
),
latest AS (
    SELECT DISTINCT ON (g.uscc, g.industry_code) g.*
      FROM marts.fct_industry_credit_grades AS g
     ORDER BY g.uscc, g.industry_code, g.period_end_date DESC
)
SELECT p.programme || '|' || g.industry_code || '|' || g.uscc AS item_key, 'authorised'::text AS disclosure_level,
       p.programme, p.recipient_role, g.industry_code, i.department_code, {columns}
  FROM latest AS g
  JOIN programmes AS p ON g.grade_class = ANY (p.classes)
                      AND (cardinality(p.industries) = 0 OR g.industry_code = ANY (p.industries))
  JOIN marts.dim_subjects AS s USING (uscc)
  JOIN marts.dim_industries AS i USING (industry_code)
 WHERE coalesce(%(levels)s::jsonb ->> g.industry_code, %(default_level)s) IN ('public', 'authorised')
   AND EXISTS (SELECT 1 FROM ops.recipient_authorisations AS a
                WHERE a.recipient_role = p.recipient_role AND a.uscc = g.uscc AND a.valid_from <= %(as_of)s
                  AND (a.valid_to IS NULL OR a.valid_to >= %(as_of)s))
"""
_CREDIT_PLUS_SOURCES = {
    "programme_title": "p.programme_title", "partner": "p.partner", "subject_name": "s.subject_name",
    "industry_name": "i.industry_name",
}  # fmt: skip

_INSPECTIONS = """
SELECT o.outcome_key AS item_key, o.disclosure_level, o.department_code, {columns}
  FROM marts.fct_inspection_outcomes AS o
"""


def all_columns(dataset: Dataset) -> list[str]:
    """The columns some level of the dataset may carry, in the order of the headers."""
    wanted = {c for cols in dataset.levels.values() for c in cols}
    return [c for c in dataset.headers if c in wanted]


def _source_query(dataset: Dataset) -> sql.Composed:
    cols = all_columns(dataset)
    if dataset.name == "grades":
        parts = [sql.SQL(f"{_GRADE_SOURCES[c]} AS ") + sql.Identifier(c) if c in _GRADE_SOURCES
                 else sql.SQL("g.") + sql.Identifier(c) for c in cols]  # fmt: skip
        return sql.SQL(_GRADES).format(columns=sql.SQL(", ").join(parts))
    if dataset.name == PARTNER_DATASET:
        parts = [sql.SQL(f"{_CREDIT_PLUS_SOURCES[c]} AS ") + sql.Identifier(c) if c in _CREDIT_PLUS_SOURCES
                 else sql.SQL("g.") + sql.Identifier(c) for c in cols]  # fmt: skip
        return sql.SQL(_CREDIT_PLUS).format(columns=sql.SQL(", ").join(parts))
    if dataset.name == "inspections":
        return sql.SQL(_INSPECTIONS).format(columns=sql.SQL(", ").join(sql.SQL("o.") + sql.Identifier(c) for c in cols))
    if dataset.name not in RECORD_TYPES:
        raise ValueError(f"dataset {dataset.name!r} has no source (known: grades, inspections, {PARTNER_DATASET},"
                         f" {', '.join(RECORD_TYPES)})")  # fmt: skip
    parts = [sql.SQL("r.") + sql.Identifier(c) for c in cols]
    return sql.SQL(_RECORDS).format(columns=sql.SQL(", ").join(parts))


def rebuild(conn: psycopg.Connection, config: Config, as_of: dt.date, *, suffix: str = "",
            run_key: str | None = None) -> dict[str, int]:  # fmt: skip
    """Rebuild every dataset's table from the marts as of ``as_of`` (records whose publication
    window has ended, or that were repaired, are left out) under ``publish.<dataset><suffix>``,
    withholding every record that carries a resident ID number (``withhold``; listed in
    ``ops.publication_withheld`` under ``run_key``). Commits. Returns rows per dataset. Views are
    made by ``swap``."""
    counts = {}
    run_key = run_key or f"rebuild-{as_of.isoformat()}"
    cur = psycopg.ClientCursor(conn)  # CREATE TABLE AS takes its parameters bound on the client
    for name, dataset in config.datasets.items():
        table = sql.Identifier("publish", name + suffix)
        params = {"levels": json.dumps(config.grade_levels), "default_level": config.grade_default_level,
                  "level": dataset.level or "public", "record_type": RECORD_TYPES.get(name),
                  "as_of": as_of, "programmes": json.dumps([
                      {"name": p.name, "title": p.title, "partner": p.partner,
                       "recipient_role": recipient_role_name(p.recipient), "classes": list(p.classes),
                       "industries": list(p.industries)} for p in config.programmes.values()]),
                  "max_reasons": config.main_reasons.max_items,
                  **{f"reason_{k}": v for k, v in config.main_reasons.labels.items()}}  # fmt: skip
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(table))
        cur.execute(sql.SQL("CREATE TABLE {} AS ").format(table) + _source_query(dataset), params)
        cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (item_key)")
                    .format(table, sql.Identifier(f"{name}{suffix}_pkey")))  # fmt: skip
        withheld, searched = withhold(conn, config, name + suffix, dataset=name, as_of=as_of, run_key=run_key,
                                      published=name if suffix else None)  # fmt: skip
        cur.execute(sql.SQL("ANALYZE {}").format(table))
        counts[name] = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0]
        log.info("publish.%s: %s rows, %s searched for resident ID numbers (the rest as published, searched"
                 " the same way), %s withheld", name, counts[name], searched, withheld)  # fmt: skip
    conn.commit()
    return counts


WITHHELD_REASON = ("含身份证号码，未发布；请来源部门更正该记录后重新发布 / holds a resident ID number: not published;"
                   " ask the source department to correct the record, then publish again")


# The functions the search for resident ID numbers runs: a new definition of any makes every row searched again.
SEARCH_FUNCTIONS = ("resident_id_search_form", "has_resident_id", "is_resident_id_not_uscc")


def search_signature(conn: psycopg.Connection, config: Config) -> str:
    """md5 of what decides the search's outcome besides the values: the search functions as defined
    in the warehouse, and the credit-code prefixes and provinces of ``publication.yml``."""
    return conn.execute(
        "SELECT md5(string_agg(pg_get_functiondef(p.oid), E'\\n' ORDER BY p.proname) || %s) FROM pg_proc AS p"
        " WHERE p.pronamespace = 'ops'::regnamespace AND p.proname = ANY(%s)",
        (json.dumps([list(config.uscc_prefixes), list(config.uscc_provinces)]), list(SEARCH_FUNCTIONS)),
    ).fetchone()[0]  # fmt: skip


def _searched_alike(conn, table: str, published: str | None, columns: list[str], signature: str) -> bool:
    """Whether ``publish.<published>`` went through the same search and has the searched columns of ``table``
    with the same types, so that its rows can stand for identical rows of ``table``."""
    if published is None or published == table:
        return False
    row = conn.execute("SELECT signature FROM ops.publication_searches WHERE table_name = %s"
                       " AND to_regclass(format('publish.%%I', table_name)) IS NOT NULL", (published,)).fetchone()
    return row is not None and row[0] == signature and _same_columns(conn, table, published, [*columns, "item_key"])


def _same_columns(conn, table: str, published: str, columns: list[str]) -> bool:
    ours = column_types(conn, sql.Identifier("publish", table))
    theirs = column_types(conn, sql.Identifier("publish", published))
    return all(c in theirs and theirs[c] == ours[c] for c in columns)


def _identical_in(published: str, columns: list[str]) -> sql.Composed:
    """The condition that ``publish.<published>`` holds a row identical to row ``d`` in ``columns`` (and key)."""
    same = sql.SQL(" AND ").join(sql.SQL("o.{c} IS NOT DISTINCT FROM d.{c}").format(c=sql.Identifier(c))
                                 for c in columns)  # fmt: skip
    return sql.SQL("EXISTS (SELECT FROM {p} AS o WHERE o.item_key = d.item_key AND {same})").format(
        p=sql.Identifier("publish", published), same=same)


def set_aside_changes(conn: psycopg.Connection, table: str, published: str, signature: str) -> tuple[str, int] | None:
    """For the publication checkpoint: when ``publish.<published>`` (the table ``table`` will replace)
    passed the checkpoint of ``signature`` (``ops.publication_searches``) and has the same columns,
    ``publish.<table>__changed`` made with the rows of ``table`` not identical in every column to one
    of its rows (the others passed those checks as they are); returns its name and rows. None when
    every row must be validated."""
    row = conn.execute("SELECT checkpoint_signature FROM ops.publication_searches WHERE table_name = %s"
                       " AND to_regclass(format('publish.%%I', table_name)) IS NOT NULL", (published,)).fetchone()
    columns = list(column_types(conn, sql.Identifier("publish", table)))
    if row is None or row[0] != signature or not _same_columns(conn, table, published, columns):
        return None
    changed = f"{table}__changed"
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("publish", changed)))
    made = conn.execute(sql.SQL("CREATE TABLE {c} AS SELECT d.* FROM {t} AS d WHERE NOT {same}").format(
        c=sql.Identifier("publish", changed), t=sql.Identifier("publish", table),
        same=_identical_in(published, [c for c in columns if c != "item_key"])))  # fmt: skip
    return changed, made.rowcount


def record_checkpoint(conn: psycopg.Connection, table: str, signature: str, validated: int | None) -> None:
    """``publish.<table>`` passed the publication checkpoint of ``signature``, ``validated`` of its rows
    read (None: every row)."""
    if validated is None:
        count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("publish", table))
        validated = conn.execute(count).fetchone()[0]
    conn.execute("UPDATE ops.publication_searches SET checkpoint_signature = %s, rows_validated = %s"
                 " WHERE table_name = %s", (signature, validated, table))  # fmt: skip


def withhold(conn: psycopg.Connection, config: Config, table: str, *, dataset: str, as_of: dt.date,
             run_key: str, published: str | None = None) -> tuple[int, int]:  # fmt: skip
    """Take every record that carries a resident ID number out of ``publish.<table>`` and list it
    in ``ops.publication_withheld`` (record, dataset, column; never the value). A record is
    withheld when any text column holds an ID number however written (``ops.has_resident_id``),
    when its credit code is an ID number and cannot be a credit code
    (``ops.is_resident_id_not_uscc``, with the GB 32100 codes of ``publication.yml``), or when its
    key holds one outside its credit code. One such record leaves the rest to be published.

    With ``published`` (the table now published, which ``table`` will replace), a record identical in
    every searched column to one of its records is not searched again when that table went through
    the same search (``ops.publication_searches``): it was searched and found clean. ``table`` is
    recorded there as searched. Returns the records withheld and the records searched."""
    columns = [c for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'publish' AND table_name = %s"
        " AND data_type IN ('text', 'character varying') AND column_name NOT IN ('item_key', 'disclosure_level')"
        " ORDER BY ordinal_position", (table,))]  # fmt: skip
    # The text columns are searched together first, one search per record over its values joined by a
    # character that is neither a digit, a letter nor a separator (so no number runs from one value into
    # the next); only the few records found are searched column by column, for the names to list.
    tests = []
    for c in columns:
        col = sql.SQL("d.") + sql.Identifier(c)
        test = (sql.SQL("ops.is_resident_id_not_uscc({}, %(prefixes)s, %(provinces)s)").format(col) if c == "uscc"
                else sql.SQL("ops.has_resident_id({})").format(col))  # fmt: skip
        tests.append(sql.SQL("({}, {})").format(sql.Literal(c), test))
    key = sql.SQL("replace(d.item_key, coalesce(d.uscc, ''), '')") if "uscc" in columns else sql.SQL("d.item_key")
    tests.append(sql.SQL("('item_key', ops.has_resident_id({}))").format(key))
    joined = sql.SQL(", ").join([sql.SQL("d.") + sql.Identifier(c) for c in columns if c != "uscc"] + [key])
    suspect = sql.SQL("ops.has_resident_id(concat_ws(E'\\x01', {}))").format(joined)
    if "uscc" in columns:
        suspect += sql.SQL(" OR ops.is_resident_id_not_uscc(d.uscc, %(prefixes)s, %(provinces)s)")
    signature = search_signature(conn, config)
    candidates = sql.SQL("{} AS d").format(sql.Identifier("publish", table))
    if _searched_alike(conn, table, published, columns, signature):
        candidates = sql.SQL("(SELECT d.* FROM {t} AS d WHERE NOT {same}) AS d").format(
            t=sql.Identifier("publish", table), same=_identical_in(published, columns))
    statement = sql.SQL(
        "WITH searched AS MATERIALIZED (SELECT d.item_key, {suspect} AS suspect FROM {candidates}),"
        " suspects AS MATERIALIZED (SELECT * FROM {table} AS d"
        "   WHERE d.item_key IN (SELECT item_key FROM searched WHERE suspect)),"
        " hits AS (SELECT d.item_key, t.column_name FROM suspects AS d"
        " CROSS JOIN LATERAL (VALUES {tests}) AS t (column_name, hit) WHERE t.hit),"
        " saved AS (INSERT INTO ops.publication_withheld (run_key, as_of, dataset, item_key, column_name, reason)"
        " SELECT %(run_key)s, %(as_of)s, %(dataset)s, item_key, column_name, %(reason)s FROM hits"
        " RETURNING item_key),"
        " deleted AS (DELETE FROM {table} AS d USING (SELECT DISTINCT item_key FROM saved) AS s"
        "   WHERE d.item_key = s.item_key RETURNING 1)"
        " SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM searched), (SELECT count(*) FROM {table})"
    ).format(table=sql.Identifier("publish", table), tests=sql.SQL(", ").join(tests), suspect=suspect,
             candidates=candidates)  # fmt: skip
    params = {"prefixes": list(config.uscc_prefixes), "provinces": list(config.uscc_provinces),
              "run_key": run_key, "as_of": as_of, "dataset": dataset, "reason": WITHHELD_REASON}  # fmt: skip
    withheld, searched, rows_in = conn.execute(statement, params).fetchone()
    conn.execute("INSERT INTO ops.publication_searches (table_name, signature, rows_in, rows_searched)"
                 " VALUES (%s, %s, %s, %s) ON CONFLICT (table_name) DO UPDATE SET signature = excluded.signature,"
                 " rows_in = excluded.rows_in, rows_searched = excluded.rows_searched, searched_at = now(),"
                 " checkpoint_signature = NULL, rows_validated = NULL",  # a new table has passed no checkpoint yet
                 (table, signature, rows_in, searched))  # fmt: skip
    return withheld, searched


def column_types(conn, table: sql.Identifier) -> dict[str, str]:
    """Each column of ``table`` with its type as SQL writes it (``numeric(12,2)``, ``date`` ...)."""
    return dict(conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute AS a"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (table.as_string(conn),)).fetchall())  # fmt: skip


def drop(conn: psycopg.Connection, config: Config, *, suffix: str) -> None:
    for name in config.datasets:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier("publish", name + suffix)))
        conn.execute("DELETE FROM ops.publication_searches WHERE table_name = %s", (name + suffix,))
    conn.commit()


def swap(conn: psycopg.Connection, config: Config, *, suffix: str) -> None:
    """Put the rebuilt tables in place of the published ones and recreate their views, in one
    transaction: a reader sees the old state or the new one."""
    cur = conn.cursor()
    for name, dataset in config.datasets.items():
        table = sql.Identifier("publish", name)
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(table))
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier("publish", name + suffix),
                                                                  sql.Identifier(name)))  # fmt: skip
        cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier("publish", f"{name}{suffix}_pkey"),
                                                                  sql.Identifier(f"{name}_pkey")))  # fmt: skip
        # the search the rows went through goes with the table
        cur.execute("DELETE FROM ops.publication_searches WHERE table_name = %s", (name,))
        cur.execute("UPDATE ops.publication_searches SET table_name = %s WHERE table_name = %s", (name, name + suffix))
        note = f"{dataset.title}: every row that may be shared, with its level (no outside role reads it)"
        cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(note)))
        _views(cur, dataset, table)
    conn.commit()


def _views(cur, dataset: Dataset, table: sql.Identifier) -> None:
    for level in ("public", "authorised"):
        if level not in dataset.levels:
            continue
        view = sql.Identifier("publish", f"{level}_{dataset.name}")
        cols = sql.SQL(", ").join(sql.SQL("d.") + sql.Identifier(c) for c in dataset.levels[level])
        if level == "authorised":
            function = _authorised_rows(cur, dataset, table)
            cur.execute(sql.SQL("CREATE VIEW {} WITH (security_barrier = true) AS SELECT * FROM {}()")
                        .format(view, function))  # fmt: skip
        else:
            rows = _public_rows(cur, dataset, table, cols)
            cur.execute(sql.SQL("CREATE VIEW {} WITH (security_barrier = true) AS SELECT * FROM {}")
                        .format(view, rows))  # fmt: skip
        access.grant_view(cur.connection, f"{level}_{dataset.name}", level)
        audience = "完全公开" if level == "public" else "依授权公开 (each recipient: its own subjects)"
        comment = f"{dataset.title}: {audience}"
        cur.execute(sql.SQL("COMMENT ON VIEW {} IS {}").format(view, sql.Literal(comment)))


def _public_rows(cur, dataset: Dataset, table: sql.Identifier, cols: sql.Composable) -> sql.Identifier:
    """``publish.<dataset>__public``: the public rows with the public columns, copied aside, so that
    the public view reads a table holding nothing else: a reader's conditions pushed into the scan
    (``EXPLAIN ANALYZE`` on an item key, say) cannot touch, or count, an authorised or internal row."""
    rows = sql.Identifier("publish", f"{dataset.name}__public")
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(rows))
    cur.execute(sql.SQL("CREATE TABLE {} AS SELECT {} FROM {} AS d WHERE d.disclosure_level = 'public'")
                .format(rows, cols, table))  # fmt: skip
    cur.execute(sql.SQL("ANALYZE {}").format(rows))
    note = f"{dataset.title}: the public rows and columns, behind publish.public_{dataset.name} (no role reads it)"
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(rows, sql.Literal(note)))
    return rows


def _authorised_rows(cur, dataset: Dataset, table: sql.Identifier) -> sql.Identifier:
    """``publish.authorised_<dataset>_rows()``: the authorised rows of the subjects that authorised
    the connected recipient (``session_user``: inside this SECURITY DEFINER function
    ``current_user`` is the publisher), with the authorised columns.

    The view over a security-barrier filter was not enough: the planner pushes a recipient's
    leakproof conditions (``=``, ``<`` ...) into the scan below the barrier, so ``EXPLAIN ANALYZE``
    row counts told grades of subjects that never authorised it. A PL/pgSQL function is never
    inlined: the recipient's conditions apply to what it returned, and no plan node the recipient
    can see has touched another subject's rows."""
    name = f"authorised_{dataset.name}_rows"
    function = sql.Identifier("publish", name)
    columns = dataset.levels["authorised"]
    types = column_types(cur, table)
    out = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in columns)
    cols = sql.SQL(", ").join(sql.SQL("d.") + sql.Identifier(c) for c in columns)
    # A list made for one recipient (the 信用+ lists) shows each recipient its own rows only.
    own = sql.SQL(" AND d.recipient_role = session_user") if "recipient_role" in types else sql.SQL("")
    body = sql.SQL(
        "#variable_conflict use_column\nBEGIN\n RETURN QUERY SELECT {cols} FROM {table} AS d"
        " WHERE d.disclosure_level = 'authorised'{own} AND EXISTS (SELECT 1 FROM ops.recipient_authorisations AS a"
        " WHERE a.recipient_role = session_user AND a.uscc = d.uscc AND a.valid_from <= current_date"
        " AND (a.valid_to IS NULL OR a.valid_to >= current_date));\nEND"
    ).format(cols=cols, table=table, own=own).as_string(cur.connection)
    cur.execute(sql.SQL("DROP FUNCTION IF EXISTS {}() CASCADE").format(function))  # and its view
    cur.execute(sql.SQL("CREATE FUNCTION {}() RETURNS TABLE ({}) LANGUAGE plpgsql STABLE SECURITY DEFINER"
                        " SET search_path = pg_catalog, pg_temp AS {}")
                .format(function, out, sql.Literal(body)))  # fmt: skip
    cur.execute(sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(function))
    cur.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}")
                .format(function, sql.Identifier(access.AUTHORISED_GROUP)))  # fmt: skip
    note = (f"{dataset.title}: the authorised rows of the connected recipient's subjects"
            f" (behind publish.authorised_{dataset.name})")  # fmt: skip
    cur.execute(sql.SQL("COMMENT ON FUNCTION {}() IS {}").format(function, sql.Literal(note)))
    return function

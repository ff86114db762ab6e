"""Raw stage: the load batches of a load, as landed, before they may feed grading.

``build(gx, batches, max_rejected_share)`` returns the validations of the raw checkpoint for
``batches`` (dicts with ``batch_id``, ``source`` and ``table``, the raw table it landed in):

* ``ops.load_batches``, the batch records: each file's header had every required column, the
  share of rejected rows is at most ``max_rejected_share``, and the rows kept in raw are as many
  as the record says it loaded. These are the batch-level expectations.
* one per raw table, the rows its batches kept: required cells present, credit codes in the USCC
  format, enumerations within their values, event dates not after the day the batch was loaded,
  amounts not negative.

The loader already rejects bad rows one by one (``credit_platform.ingest.validate``); this suite
checks each batch as a whole and checks the loader's work on what it kept. Every failure is
attributed to its load batches (``KEY_COLUMN``: the unexpected rows' index of a column
expectation, the ``batch_id`` column of a rule's rows, one row per failing batch with its
``rows`` and ``examples``), and ``credit_platform.quality.raw_gate`` quarantines those batches.
Checks are written from the source's columns in ``sources.yml`` (their type, ``required`` and
``values``), so a new source is checked without code here. The cell rules of a table (dates,
amounts, enumerations ...) are one ``UnexpectedRowsExpectation``, one pass over its batches
(``_cells_query``), whose rows name the rule each broke; they use the same SQL parsing functions as
the loader and staging (``ops.to_date``, ``ops.to_number``, ``ops.to_code``, ``ops.to_grade``).
Rule queries have a JOIN and alias ``{batch}`` (see ``marts.py``). One query per rule cost a pass
per rule, twice (Great Expectations runs a rule for its rows, then for their count): a 2,000-row
penalties batch read 141,856 rows of ``raw.penalties`` to load and gate, 50,336 in one pass
(``tests/integration/test_batch_cost.py``).
"""

from credit_platform.ingest import RawTable, raw_tables
from expectations.templates import identifier as _identifier
from expectations.templates import literal as _literal

USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PERIOD = r"^[0-9]{4}(-H[12]|-Q[1-4])?$"
SPLIT = r"\s*[;；,，]\s*"
# The day a batch was loaded, in the city's time zone: no event may be later.
LOADED_ON = "(b.finished_at AT TIME ZONE 'Asia/Shanghai')::date"


def _array(values) -> str:
    return "ARRAY[" + ", ".join(_literal(v) for v in values) + "]::text[]"


# Great Expectations takes its queries as text, so nothing in them can be a bind parameter. What is
# formatted in (S608 below) is never data: batch ids are integers (int() in build), column and table
# names come from sources.yml and are checked to be plain identifiers, and values are quoted by
# _literal.
def _cells_query(rules: list[tuple[str, list[str], str]]) -> str:
    """One row per batch and rule with kept rows breaking it: the rule, how many rows, and the first
    three (rule, row number, cells). ``rules`` are (description, the one or two columns it reads,
    condition on ``r.c1``, ``r.c2`` and the batch record ``b``).

    Every rule of the table in one pass over the batch: each row's checked cells are unpivoted into
    (rule, cells), and each condition is evaluated once per distinct value in each batch, as the
    loader does (parsing a date or an amount in SQL costs far more than finding its rows again).
    Only when some value breaks a rule are the batch's rows read again, for the rows that hold it.
    """
    def cells(alias: str) -> str:
        values = []
        for i, (description, columns, _) in enumerate(rules):
            c2 = f"{alias}.{_identifier(columns[0])}" if len(columns) == 2 else "NULL::text"
            values.append(f"({i}, {_literal(description)}, {alias}.{_identifier(columns[-1])}, {c2},"
                          f" {'true' if len(columns) == 2 else 'false'})")
        return f"CROSS JOIN LATERAL (VALUES {', '.join(values)}) AS v (rule, name, c1, c2, wide)"

    broken = " ".join(f"WHEN {i} THEN {condition}" for i, (_, _, condition) in enumerate(rules))
    # MATERIALIZED: the conditions run once per distinct value even when a fresh table has no
    # statistics yet (inlined, the planner may re-run them for every row of the batch).
    return (f"WITH bad AS MATERIALIZED (SELECT r.* FROM (SELECT DISTINCT x.batch_id, v.rule, v.c1, v.c2"  # noqa: S608
            f" FROM {{batch}} AS x {cells('x')}) AS r"
            f" JOIN ops.load_batches AS b ON b.batch_id = r.batch_id WHERE CASE r.rule {broken} END)"
            " SELECT r.batch_id, v.name AS rule, count(*) AS rows, jsonb_path_query_array(jsonb_agg(CASE WHEN v.wide"
            " THEN jsonb_build_array(v.name, r.row_number, v.c2, v.c1) ELSE jsonb_build_array(v.name, r.row_number,"
            " v.c1) END ORDER BY r.row_number), '$[0 to 2]') AS examples"
            f" FROM {{batch}} AS r {cells('r')}"
            " JOIN bad AS d ON d.batch_id = r.batch_id AND d.rule = v.rule AND d.c1 IS NOT DISTINCT FROM v.c1"
            " AND d.c2 IS NOT DISTINCT FROM v.c2"
            " GROUP BY r.batch_id, v.rule, v.name")  # fmt: skip


# The rules on one cell of a kept row, by column type: (description, condition on the cell {c}).
CELL_RULES = {
    "event_date": ("事件日期可识别且不晚于入库日 / {name} is a date, not after the day the batch was loaded",
                   f"ops.to_date({{c}}) IS NULL OR ops.to_date({{c}}) > {LOADED_ON}"),
    "date": ("日期可识别 / {name} is a date", "ops.to_date({c}) IS NULL"),
    "amount": ("金额为非负数 / {name} is a number, not negative",
               "ops.to_number({c}) IS NULL OR ops.to_number({c}) < 0"),
    "score": ("得分为数字 / {name} is a number", "ops.to_number({c}) IS NULL"),
    "grade": ("等级为九级之一 / {name} is one of the nine grade levels", "ops.to_grade({c}) IS NULL"),
    "period": ("评价期格式 / {name} is an evaluation period (YYYY, YYYY-H1/H2, YYYY-Qn)",
               f"ops.to_code({{c}}) !~ {_literal(PERIOD)}"),
}  # fmt: skip


def _cell_rules(source: RawTable) -> list[tuple[str, list[str], str]]:
    """(description, the columns it reads, condition on the cell ``r.c1`` and, for an enumeration on
    the scale of another column, that column's cell ``r.c2``) for the source's typed columns."""
    out = []
    c, o = "r.c1", "r.c2"
    present = f"nullif(btrim({c}), '') IS NOT NULL"
    for col in source.columns:
        if col.type in CELL_RULES:
            description, condition = CELL_RULES[col.type]
            out.append((description.replace("{name}", col.name), [col.name],
                        f"{present} AND ({condition.replace('{c}', c)})"))
        elif col.type == "category":
            out.append((f"处罚类别在规则表内 / {col.name} holds only the penalty categories of rules.yml", [col.name],
                        f"{present} AND NOT (regexp_split_to_array(btrim({c}), {_literal(SPLIT)})"
                        f" <@ {_array(col.allowed)})"))
        elif col.type == "enum" and col.allowed_by is None:
            out.append((f"枚举值 / {col.name} is one of {', '.join(col.allowed)}", [col.name],
                        f"{present} AND NOT (ops.to_code({c}) = ANY({_array(col.allowed)}))"))
        elif col.type == "enum":
            other, allowed = col.allowed_by
            whens = " ".join(f"WHEN {_literal(k)} THEN {_array(v)}" for k, v in allowed.items())
            out.append((f"枚举值 / {col.name} is on the scale of its {other}", [other, col.name],
                        f"{present} AND NOT coalesce(ops.to_code({c}) = ANY(CASE ops.to_code({o}) {whens} END),"
                        " false)"))
    return out


INDEX_COLUMNS = ["batch_id", "row_number"]
KEY_COLUMN = "batch_id"


def _ids(batches: list[dict]) -> str:
    return ", ".join(str(int(b["batch_id"])) for b in batches)


def build(gx, batches: list[dict], max_rejected_share: float):
    gxe = gx.expectations
    known = raw_tables()
    by_table: dict[str, list[dict]] = {}
    for batch in batches:
        by_table.setdefault(_identifier(known[batch["source"]].table), []).append(batch)

    record = gx.ExpectationSuite(name="raw_batch_records")
    record.add_expectation(gxe.ExpectColumnValuesToBeNull(
        column="missing_columns", description="文件表头含全部必填列 / the file's header has every required column"))
    record.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="rejected_share", min_value=0, max_value=max_rejected_share,
        description=f"拒收比例不超过 {max_rejected_share:.0%} / at most {max_rejected_share:.0%} of the rows rejected"))
    counts = [f"SELECT batch_id, count(*) AS kept FROM {table} WHERE batch_id IN ({_ids(group)}) GROUP BY 1"  # noqa: S608
              for table, group in sorted(by_table.items())]  # fmt: skip
    kept = " UNION ALL ".join(counts)
    record.add_expectation(gxe.UnexpectedRowsExpectation(
        description="行数与批次记录一致 / the rows kept in raw are the rows the batch record says it loaded"
                    " (less those of natural persons, kept apart)",
        unexpected_rows_query=(
            "SELECT b.batch_id, b.rows_loaded, b.rows_protected, coalesce(k.kept, 0) AS kept FROM {batch} AS b"  # noqa: S608
            f" LEFT JOIN ({kept}) AS k ON k.batch_id = b.batch_id"
            " WHERE coalesce(k.kept, 0) <> b.rows_loaded - coalesce(b.rows_protected, 0)"),
    ))  # fmt: skip
    checks = [{
        "name": "ops.load_batches", "keys": [int(b["batch_id"]) for b in batches], "suite": record,
        "query": "SELECT batch_id, 0 AS row_number, source_file, rows_in, rows_loaded, rows_rejected,"  # noqa: S608
                 " rows_protected, missing_columns,"
                 " round(coalesce(rows_rejected::numeric / nullif(rows_in, 0), 0), 4) AS rejected_share"
                 f" FROM ops.load_batches WHERE batch_id IN ({_ids(batches)})",
    }]  # fmt: skip

    for table, group in sorted(by_table.items()):
        source = known[group[0]["source"]]
        rows = gx.ExpectationSuite(name=f"raw_{source.source}")
        for col in source.columns:
            if col.required:
                rows.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=col.name))
                rows.add_expectation(gxe.ExpectColumnValuesToMatchRegex(
                    column=col.name, regex=r"\S", description=f"必填项非空 / {col.name} is not blank"))
            if col.type == "uscc":
                rows.add_expectation(gxe.ExpectColumnValuesToMatchRegex(
                    column=col.name, regex=USCC, description="统一社会信用代码格式 / the USCC format"))
        rules = _cell_rules(source)
        if rules:  # every cell rule of the table, in one pass over its batches
            rows.add_expectation(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=_cells_query(rules),
                description="单元格规则 / each kept cell meets its column's rule: "
                            + "; ".join(d for d, _, _ in rules)))  # fmt: skip
        checks.append({
            "name": table, "keys": [int(b["batch_id"]) for b in group], "suite": rows,
            "query": f"SELECT * FROM {table} WHERE batch_id IN ({_ids(group)})",  # noqa: S608
        })  # fmt: skip
    return checks

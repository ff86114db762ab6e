"""Publication stage: nothing leaves the warehouse that should not.

``build(gx, checks)`` returns one validation per entry of ``checks``, each a view (``table``,
``publish.<dataset>__next__<audience>``) giving exactly the rows and columns one audience would
receive from the rebuilt ``publish`` tables (made by ``credit_platform.publish.run``): every
platform (the columns of its clearance, the rows of the levels it is cleared for), every public or
authorised view, and each dataset whole (every row, every column). An entry has ``name``,
``table``, ``columns`` (the columns allowed there, from
``publication.yml``), ``levels`` (the disclosure levels allowed there) and ``text_columns`` (the
values searched for ID numbers; empty where another entry covers the same values). Every check is
about one row at a time, so a view may hold only the rows that changed since the published tables
passed the same checks: the run says so (``credit_platform.publish.run.checkpoint_signature``,
which covers this file).

The checks:

* the columns are exactly the allowed ones (besides ``item_key`` and ``disclosure_level``);
* every row's disclosure level is one the audience is cleared for;
* no value holds a resident ID number: the 18-digit number of GB 11643 (region, date of birth,
  sequence, check character) or the older 15-digit form, wherever it stands in the text. Each
  value is searched in the form ``ops.resident_id_search_form`` makes of it (NFKC:
  full-width digits become ASCII; upper case; spaces, hyphens and dots between digits removed),
  so "１４０６８１ 1990-0101-123x" is caught as "14068119900101123X". This is the pattern of the
  ``CF_XDR_ZJHM`` and ``CF_FR_ZJHM`` columns the departments send, which the loader keeps out of
  staging; the check catches one typed into a name, a decision or a reason;
* no credit code (``code_columns``, separators removed) is an ID number that cannot be a credit
  code: shaped like one, and its first two characters not a GB 32100 registration authority and
  category (``uscc_prefixes``) followed by a province (``uscc_provinces``), or of 15 digits.

The last two are one rule over the rows (``_id_search``): one search per row over its text
values joined, then column by column only in the rows found; a row breaking it is named with its
key, the column and the value as searched. At 1,000,000 subjects the search over the grades
took 128 s with one search per column; 35 s so (Great Expectations runs the rule twice: its rows,
then their count).

Records that would fail these were withheld when the tables were rebuilt (SQL functions of the
same patterns); this checkpoint is the last guard, and a failure stops the whole publication.
"""

from expectations.templates import identifier as _plain
from expectations.templates import literal as _literal

INDEX_COLUMNS = ["item_key"]

_DATE = r"(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
RESIDENT_ID = (
    r"(^|[^0-9A-Za-z])([1-9][0-9]{5}(18|19|20)[0-9]{2}" + _DATE + r"[0-9]{3}[0-9Xx]"
    r"|[1-9][0-9]{7}" + _DATE + r"[0-9]{3})($|[^0-9A-Za-z])"
)


_ID18 = r"[1-9][0-9]{5}(18|19|20)[0-9]{2}" + _DATE + r"[0-9]{3}[0-9X]"


def resident_id_in_code(prefixes, provinces) -> str:
    """The pattern of a credit-code value (separators removed, upper case) that is an ID number
    and cannot be a credit code."""
    plausible = f"(?:{'|'.join(prefixes)})(?:{'|'.join(provinces)})"
    return rf"^(?!{plausible}){_ID18}$|^[1-9][0-9]{{7}}{_DATE}[0-9]{{3}}$"


def _id_search(text_columns: list[str], code_columns: list[str], code_pattern: str) -> str:
    """The rows holding an ID number in a text column (``RESIDENT_ID`` in its search form) or in a
    code column (``code_pattern`` in its search form without separators): one row per column
    found, with the value as searched.

    One search per row first, over the search form of its text values joined by ``\\x01`` (no
    digit, letter or separator: no number runs from one value into the next, and the search form of
    the joined text is the search forms joined); only the rows found are searched column by column.
    """
    # GX runs the query as SQLAlchemy text, where ":name" is a bind parameter: groups that capture
    # match the same text as "(?:" ones.
    code = code_pattern.replace("(?:", "(")
    if ":" in code:
        raise ValueError("the credit-code pattern holds a colon, which the query cannot carry")
    texts = [_plain(c) for c in text_columns]
    codes = [_plain(c) for c in code_columns]
    form = "ops.resident_id_search_form({})"
    code_form = "regexp_replace(ops.resident_id_search_form({}), '[^0-9A-Z]', '', 'g')"
    found = []
    if texts:
        joined = form.format("concat_ws(E'\\x01', " + ", ".join(f"d.{c}" for c in texts) + ")")
        found.append(f"{joined} ~ {_literal(RESIDENT_ID)}")
    found += [f"{code_form.format(f'd.{c}')} ~ {_literal(code)}" for c in codes]
    columns = [f"({_literal(c)}, {form.format(f'd.{c}')}, {_literal(RESIDENT_ID)})" for c in texts]
    columns += [f"({_literal(c)}, {code_form.format(f'd.{c}')}, {_literal(code)})" for c in codes]
    return ("SELECT d.item_key, t.column_name, t.value FROM {batch} AS d"  # noqa: S608 - names checked, literals quoted
            f" CROSS JOIN LATERAL (VALUES {', '.join(columns)}) AS t (column_name, value, pattern)"
            f" WHERE ({' OR '.join(found)}) AND t.value ~ t.pattern")


def build(gx, checks):
    gxe = gx.expectations
    out = []
    for check in checks:
        suite = gx.ExpectationSuite(name=f"publication_{check['name']}")
        suite.add_expectation(gxe.ExpectTableColumnsToMatchSet(
            column_set=["item_key", "disclosure_level", *check["columns"]], exact_match=True,
            description="只含该级别允许的列 / only the columns allowed for the level"))  # fmt: skip
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="disclosure_level", value_set=list(check["levels"]),
            description="公开级别在接收方授权范围内 / every row at a level the audience is cleared for"))  # fmt: skip
        texts, codes = check["text_columns"], check.get("code_columns", [])
        if texts or codes:
            code = resident_id_in_code(check.get("uscc_prefixes", ()), check.get("uscc_provinces", ()))
            suite.add_expectation(gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=_id_search(texts, codes, code),
                description=f"不含身份证号码 / no resident ID number in {', '.join(texts + codes)}"))  # fmt: skip
        out.append({"name": check["name"], "table": check["table"], "suite": suite})
    return out

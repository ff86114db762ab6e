"""Publication stage: nothing leaves the warehouse that should not.

``build(gx, checks)`` returns one validation per entry of ``checks``, each a query giving exactly
the rows and columns one audience would receive from the rebuilt ``publish`` tables (made by
``credit_platform.publish.run``): every platform (the columns of its clearance, the rows of the
levels it is cleared for), every public or authorised view, and each dataset whole (every row,
every column). An entry has ``name``, ``query``, ``columns`` (the columns allowed there, from
``publication.yml``), ``levels`` (the disclosure levels allowed there) and ``text_columns`` (the
values searched for ID numbers; empty where another entry covers the same values).

The checks:

* the columns are exactly the allowed ones (besides ``item_key`` and ``disclosure_level``);
* every row's disclosure level is one the audience is cleared for;
* no value holds a resident ID number: the 18-digit number of GB 11643 (region, date of birth,
  sequence, check character) or the older 15-digit form, wherever it stands in the text. The
  query gives each searched value in the form ``ops.resident_id_search_form`` makes of it (NFKC:
  full-width digits become ASCII; upper case; spaces, hyphens and dots between digits removed),
  so "１４０６８１ 1990-0101-123x" is caught as "14068119900101123X". This is the pattern of the
  ``CF_XDR_ZJHM`` and ``CF_FR_ZJHM`` columns the departments send, which the loader keeps out of
  staging; the check catches one typed into a name, a decision or a reason;
* no credit code (``code_columns``, separators removed) is an ID number that cannot be a credit
  code: shaped like one, and its first two characters not a GB 32100 registration authority and
  category (``uscc_prefixes``) followed by a province (``uscc_provinces``), or of 15 digits.

Records that would fail these were withheld when the tables were rebuilt (SQL functions of the
same patterns); this checkpoint is the last guard, and a failure stops the whole publication.
"""

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
        for column in check["text_columns"]:
            suite.add_expectation(gxe.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=RESIDENT_ID,
                description=f"{column} 不含身份证号码 / no resident ID number in {column}"))  # fmt: skip
        for column in check.get("code_columns", []):
            suite.add_expectation(gxe.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=resident_id_in_code(check["uscc_prefixes"], check["uscc_provinces"]),
                description=f"{column} 不是身份证号码 / {column} holds no resident ID number"))  # fmt: skip
        out.append({"name": check["name"], "query": check["query"], "suite": suite})
    return out

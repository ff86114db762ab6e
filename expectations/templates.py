"""What the suites write into the query text Great Expectations runs, where nothing can be a bind
parameter: quoted literals and checked identifiers. Braces are doubled because GX formats each
rule's query with ``{batch}``."""

import re


def literal(value: str) -> str:
    """A SQL string literal inside a query template."""
    return "'" + value.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def identifier(name: str) -> str:
    """A plain column (or ``schema.table``) name, refused if it is anything else."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", name):
        raise ValueError(f"not a plain column name: {name!r}")
    return name

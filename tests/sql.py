"""A helper the integration tests share: run one statement as a role and return its rows."""

from __future__ import annotations

import psycopg


def rows(url: str, statement: str, params=()) -> list[tuple]:
    """Run ``statement`` at ``url`` (committed) and return its rows, or [] when it returns none."""
    with psycopg.connect(url) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []

"""Python reads the warehouse through the marts and ``ops`` only, never ``staging`` or ``intermediate``.

Those layers change shape whenever the grading does; a mart's columns and types are fixed by its
enforced contract (``tests/unit/test_dbt_docs.py``). The Great Expectations suites in
``expectations/`` are left out: a quality stage may check what it guards.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "plugins", ROOT / "dags"]
INNER = re.compile(r"\b(staging|intermediate)\.([a-z_][a-z0-9_]*)")


def test_no_python_module_reads_staging_or_intermediate():
    hits = []
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                hits += [f"{path.relative_to(ROOT)}:{number}: {m.group(0)}" for m in INNER.finditer(line)]
    assert not hits, "read a mart (or ops) instead:\n  " + "\n  ".join(hits)

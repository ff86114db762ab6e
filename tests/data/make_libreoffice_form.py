"""Writes ``inspection_results_libreoffice.xlsx``: the platform's result form for five tasks, three of
them filled in with openpyxl (date cells, a result from the drop-down), then opened and saved again by
LibreOffice, as a clerk's office suite would. Run it again (with ``soffice`` on the PATH) when the
form's layout changes:

    .venv/bin/python tests/data/make_libreoffice_form.py
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from credit_platform import uscc
from credit_platform.inspection.lists import form_columns, results
from credit_platform.publish.workbooks import render

HERE = Path(__file__).resolve().parent
NAME = "inspection_results_libreoffice.xlsx"
SUBJECTS = [uscc.make("91", "140681", f"MA0K{n:04d}") for n in range(1, 6)]


def main() -> None:
    rows = []
    for n, code in enumerate(SUBJECTS, start=1):
        known = {"task_id": f"2026-R1-T{n:03d}", "uscc": code, "subject_name": f"怀仁市测试{n}号有限公司",
                 "matter_code": "SCJG-01", "matter_name": "食品经营许可事项检查", "inspectors": "张三(I01)、李四(I02)"}
        rows.append(tuple(known.get(c, "") for c, *_ in form_columns()))
    wb = load_workbook(io.BytesIO(render(rows, period="2026-R1", workbook="inspection_form",
                                         choices={"result": results()})))  # fmt: skip
    ws = wb.active
    at = {c.value: c.column for c in ws[1]}
    for r in (2, 3, 5):  # the first, second and fourth tasks come back; the third and fifth not yet
        ws.cell(row=r, column=at["检查日期"]).value = dt.date(2026, 3, 10 + r)
        ws.cell(row=r, column=at["检查结果"]).value = results()[0 if r != 5 else 1]
    with tempfile.TemporaryDirectory() as tmp:
        filled = Path(tmp) / "in" / NAME
        filled.parent.mkdir()
        wb.save(filled)
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        subprocess.run([soffice, "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", tmp,
                        str(filled)], check=True, capture_output=True, timeout=300)  # fmt: skip
        shutil.copyfile(Path(tmp) / NAME, HERE / NAME)
    print(f"wrote {HERE / NAME}")


if __name__ == "__main__":
    main()

"""The supervision view's pages drawn from figures: every value escaped (a subject's name or a file
name is whatever a department sent), every link relative (the view is served under a prefix and
inside the Airflow UI's frame), the charts' shares right."""

from __future__ import annotations

import re

from credit_platform.console import pages

HOSTILE = '<script>alert("x")</script>'


def _overview() -> dict:
    period = {"evaluation_period": "2025-H2", "period_start_date": "2025-07-01", "period_end_date": "2025-12-31",
              "received_until": None}  # fmt: skip
    return {
        "read_as": {"role": "credit_analyst", "read_only": True},
        "period": period,
        "previous_period": {"evaluation_period": "2025-H1"},
        "periods": ["2025-H1", "2025-H2"],
        "grades": {
            "classes": [{"grade_class": c, "label": c} for c in "ABCD"],
            "industries": [{"industry_code": "food_drug", "industry_name": HOSTILE, "department_code": "scjgj",
                            "department_name": "市场监管", "classes": {"A": 1, "B": 2, "C": 0, "D": 1}, "total": 4,
                            "previous": {"A": 2, "B": 2, "C": 0, "D": 0}, "change": {"A": -1, "B": 0, "C": 0, "D": 1},
                            "psi": 0.9}],  # fmt: skip
            "psi_threshold": 0.25, "held": True, "held_reason": HOSTILE,
            "release_command": 'credit-platform release 2025-H2 --reason "…" --by "…"',
        },
        "loads": {"departments": [{"department_code": "scjgj", "department_name": "市场监管", "sent_this_period": False,
                                   "batches": 1, "rows_in": 3, "rows_loaded": 2, "rows_rejected": 1, "quarantined": 1,
                                   "latest_files": [{"batch_id": 1, "source": "penalty", "source_file": HOSTILE,
                                                     "status": "quarantined", "status_label": "已隔离", "rows_in": 3,
                                                     "rows_loaded": 2, "rows_rejected": 1,
                                                     "quarantine_reason": HOSTILE, "started_at": "2026-01-01"}]}],
                  "silent": ["scjgj"]},  # fmt: skip
        "progress": [{"department_code": "a&b", "department_name": HOSTILE, "supervised": 4, "graded": 3,
                      "graded_share": 0.75, "measures_due": 1, "measures_applied": 2, "measures_overdue": 3,
                      "plans_drawn": 0, "inspection_tasks": 0, "results_returned": 0, "results_published": 0,
                      "objections_open": 1, "objections_overdue": 1}],  # fmt: skip
        "publications": [],
    }


def test_every_value_is_escaped_and_every_link_is_relative():
    html = pages.overview(_overview())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="departments/a%26b?period=2025-H2"' in html
    assert not re.findall(r'href="/', html), "a link from the server's root breaks under the /credit prefix"
    assert "本期发布已暂停" in html and "credit-platform release 2025-H2" in html
    assert "本期未报送" in html and "尚未发布" in html


def test_a_class_bar_is_drawn_in_proportion():
    svg = str(pages.stacked_bar({"A": 1, "B": 2, "C": 0, "D": 1}, "x", width=400))
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="0" width="([\d.]+)"', svg)]
    assert widths == [100.0, 200.0, 100.0]  # C has no part
    assert "A 1 (25.0%)" in svg and "<title>C" not in svg


def test_department_and_subject_pages_escape_what_departments_sent():
    dept = {"department_code": "scjgj", "department_name": "市场监管", "evaluation_period": "2025-H2",
            "classes": {"A": 0, "B": 0, "C": 0, "D": 1}, "grade_class": None, "total": 1, "page": 1, "page_size": 50,
            "progress": None, "subjects": [{"uscc": "91140624MA0X<1>", "subject_name": HOSTILE,
                                            "industry_code": "food_drug", "industry_name": "食品药品", "score": 40.5,
                                            "grade": "D", "grade_class": "D", "grade_basis": "computed",
                                            "grade_basis_label": "按得分评定"}]}  # fmt: skip
    html = pages.department(dept)
    assert "<script>" not in html and 'href="../subjects/91140624MA0X%3C1%3E?period=2025-H2"' in html
    subject = {"uscc": "91140624MA0X1", "subject_name": HOSTILE, "evaluation_period": "2025-H2",
               "grades": [{"industry_name": "食品药品", "grade": "D", "grade_class": "D", "score": 40.5,
                           "grade_basis_label": "按得分评定", "basis_reason": HOSTILE, "rule_version": "v1",
                           "explanation": [{"line_number": 1, "indicator_name": "行政处罚", "rule_code": None,
                                            "indicator_code": "penalties", "weight": 30, "item_count": 2,
                                            "points": -12.5, "detail": HOSTILE}]}]}  # fmt: skip
    html = pages.subject(subject)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 4  # title, heading, basis, detail

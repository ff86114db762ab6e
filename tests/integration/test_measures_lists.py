"""The supervision measures lists (seed supervision_measures) are refused by dbt when a class of an
industry is left without measures, when an incentive is given to a lower class, or when a measure is
filed under a department that does not supervise the industry; the shipped lists pass."""

from __future__ import annotations

import csv
import shutil

import pytest

from credit_platform.grading.dbt_runner import run_dbt
from credit_platform.settings import paths

pytestmark = pytest.mark.integration

SELECT = ["supervision_measures", "measure_list_versions", "industries", "departments", "grade_levels"]


@pytest.fixture(scope="module")
def measures_db(migrated_database):
    with migrated_database("measures") as url:
        yield url


def _project(tmp_path, edit=None):
    project = tmp_path / "dbt_project"
    shutil.copytree(paths().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs"))
    if edit:
        path = project / "seeds" / "supervision_measures.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        fields = list(rows[0])
        rows = edit(rows)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return project


def _build(url, project):
    res = run_dbt(["build", "--select", *SELECT, "--indirect-selection", "cautious"], base_url=url, capture=True,
                  project=project)  # fmt: skip
    return res.returncode, res.stdout


def test_the_shipped_lists_cover_every_class_of_every_industry(measures_db, tmp_path):
    code, out = _build(measures_db, _project(tmp_path))
    assert code == 0, out[-3000:]
    assert "measures_cover_every_class_of_every_industry" in out and "ERROR=0" in out


#: Three faults, each in a part of the list the others do not touch, so that each rule has one to refuse.
FAULTS = {
    "measures_cover_every_class_of_every_industry":  # a class left without measures
        lambda rows: [r for r in rows if not (r["industry_code"] == "pricing" and r["grade_class"] == "D")],
    "measures_give_no_incentive_to_the_lower_classes":  # an incentive given to a lower class
        lambda rows: [dict(r, measure_kind="incentive") if r["measure_code"] == "ZJJ-HOUS-C02" else r for r in rows],
    "measures_belong_to_the_industrys_department":  # a measure filed under another department
        lambda rows: [dict(r, department_code="fgj") if r["industry_code"] == "statistics" else r for r in rows],
}  # fmt: skip


def test_a_wrong_list_is_refused_naming_each_rule_it_breaks(measures_db, tmp_path):
    def every_fault(rows):
        for fault in FAULTS.values():
            rows = fault(rows)
        return rows

    code, out = _build(measures_db, _project(tmp_path, every_fault))
    assert code != 0
    for rule in FAULTS:
        failed = [line for line in out.splitlines() if "FAIL" in line and rule in line]
        assert failed, f"{rule} did not fail:\n{out[-3000:]}"

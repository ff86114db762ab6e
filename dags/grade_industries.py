"""
### Grade industries (行业信用评价)

Runs the dbt project (rendered by Cosmos from the manifest compiled by `make`; parsing this file
runs no dbt): the seeds and staging views in one task with their tests, then a task for each
indicator feature, grade, explanation, history and class-change model, then the other dbt
tests. The Great Expectations marts checkpoint then validates the grades; only when it passes
is the asset `validated_industry_credit_grades` updated, which queues publication and the
inspection draw. A failed checkpoint fails the run with the failed expectations in the log and
is recorded in `ops.validation_runs`, and nothing is published. The class shares per industry
are then compared with the previous period (PSI): a drift beyond `CREDIT_DRIFT_PSI_THRESHOLD` is
logged and recorded, and publication waits until someone runs
`credit-platform release PERIOD --reason ... --by ...`.

The grades, their explanations and the indicator points are computed by period: an open period
on every run, a closed period only when what it counts changed (its closing or re-grading, the
batches loaded before its cutoff, its manual adjustments, the project's code or seeds). Trigger
with `full_refresh` set to compute every period from scratch; it gives the same rows.

Scheduled on new raw data (province pushes or department records). Airflow runs dbt as the
database role `credit_transformer` (connection `warehouse_transformer`) and validates as
`credit_publisher`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from cosmos import DbtTaskGroup

from credit_platform.grading.dbt_cosmos import configs, seeds_and_staging
from credit_platform.orchestration.assets import GRADES, RAW_DEPARTMENTS, RAW_PROVINCE
from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=1, retry_delay_minutes=2, heavy=True)


@dag(
    dag_id="grade_industries",
    schedule=(RAW_PROVINCE | RAW_DEPARTMENTS),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "full_refresh": Param(False, type="boolean",
                              description="全部重算: build every period from scratch (dbt --full-refresh)"),
    },
    tags=["grading", "dbt", "quality"],
    doc_md=__doc__,
)
def grade_industries():
    upstream = seeds_and_staging(group_cache="grade_industries__dbt")
    dbt = DbtTaskGroup(group_id="dbt", default_args=DEFAULT_ARGS, **configs())

    @task(outlets=[GRADES], multiple_outputs=False)
    def validate_grades() -> dict:
        from credit_platform.orchestration.tasks import validate_grades

        return validate_grades()

    upstream >> dbt >> validate_grades()


grade_industries()

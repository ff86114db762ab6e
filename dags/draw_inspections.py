"""
### Draw inspections (双随机抽查)

Draws each department's random inspection list for the latest graded period: subjects by grade
class at the configured ratios (`marts.dim_inspection_ratios`), two inspectors each from the
department's roster without a declared conflict, joint inspections across departments. The seed
is SHA-256 of the plan id and the announced value (the `announced_value` parameter; by default
the run id), recorded in `ops.inspection_plans` with hashes of the population; tasks go to
`ops.inspection_tasks` and are shown in `marts.fct_inspection_tasks`. An existing plan is kept.

Scheduled on the asset `validated_industry_credit_grades`. Runs as `credit_publisher`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from credit_platform.assets import GRADES
from credit_platform.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=1, retry_delay_minutes=5)


@dag(
    dag_id="draw_inspections",
    schedule=[GRADES],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"announced_value": Param("", type="string", description="value announced before the draw")},
    tags=["inspection", "supervision"],
    doc_md=__doc__,
)
def draw_inspections():
    @task(multiple_outputs=False)
    def draw(params: dict | None = None, run_id: str | None = None) -> list[dict]:
        import psycopg

        from credit_platform.airflow_support import warehouse_url
        from credit_platform.inspection import draw
        from credit_platform.publish import latest_period

        url = warehouse_url("publisher")
        with psycopg.connect(url) as conn:
            period = latest_period(conn)
        announced = (params or {}).get("announced_value") or run_id
        return [r.__dict__ for r in draw(url, period, announced)]

    draw()


draw_inspections()

"""
### Draw inspections (双随机抽查)

Draws each department's random inspection lists for the latest graded period, one plan per
inspection matter (抽查事项清单): subjects by grade class at the department's ratios, yearly caps
and minimums (`marts.dim_inspection_ratios`), deregistered subjects left out, the seriously
dishonest and subjects with an open complaint always included where the department's settings say
so (`marts.fct_inspection_overrides`), two inspectors each from the department's roster without a
declared conflict, joint inspections across departments (algorithm `credit-draw-3`).

The round must have been announced before its draw time (`credit-platform announce-draw ROUND
--source ... --draw-at ...`) and its value recorded once the source published it
(`credit-platform record-draw-value ROUND VALUE`), in `ops.draw_announcements`: the seed is SHA-256
of the plan id and that value. Without them, or before the draw time, the task fails with what to
do next and draws nothing. The seed is recorded in `ops.inspection_plans` with the algorithm
version and hashes of the population, which is kept in `ops.inspection_population`; tasks go to
`ops.inspection_tasks` and are shown in `marts.fct_inspection_tasks`. `credit-platform verify-draw
PLAN_ID` recomputes any plan.

1. `draw`: the round's plans (parameter `draw_round`, default the period); plans already drawn in
   the round are kept. Then each public plan's verification kit in
   `$CREDIT_OUTBOX/inspections/<round>/kit_<plan_id>.json`, which
   `plugins/credit_platform/inspection/reference/verify_draw.py` checks with nothing else.
2. `lists`: each department's task list and result-return form (Excel) in
   `$CREDIT_OUTBOX/departments/<code>/`; the filled form goes back into the inbox.

Scheduled on the asset `validated_industry_credit_grades`; updates `inspection_plans`, which
publishes the plans. Runs as `credit_publisher`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from credit_platform.orchestration.assets import GRADES, INSPECTION_PLANS
from credit_platform.orchestration.dag_defaults import default_args

DEFAULT_ARGS = default_args(retries=1, retry_delay_minutes=5)


@dag(
    dag_id="draw_inspections",
    schedule=[GRADES],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "draw_round": Param("", type="string", description="抽查批次 (default: the graded period)"),
    },
    tags=["inspection", "supervision"],
    doc_md=__doc__,
)
def draw_inspections():
    @task(multiple_outputs=False, outlets=[INSPECTION_PLANS])
    def draw(params: dict | None = None) -> dict:
        from credit_platform.orchestration.tasks import draw_inspection_plans

        return draw_inspection_plans(params or {})

    @task
    def lists() -> list[dict]:
        from credit_platform.orchestration.tasks import inspection_lists

        return inspection_lists()

    draw() >> lists()


draw_inspections()

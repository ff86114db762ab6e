{{ config(materialized='view') }}
-- A live view of the drawn inspection tasks (written by the draw into ops.inspection_tasks).
select
    task_id,
    plan_id,
    draw_round,
    drawn_on,
    department_code,
    matter_code,
    industry_code,
    uscc,
    grade_class,
    inspector_ids,
    selection,
    override_reason
from {{ ref('stg_ops__inspection_tasks') }}

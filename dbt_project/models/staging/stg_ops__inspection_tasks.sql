select
    t.task_id,
    t.plan_id,
    p.draw_round,
    p.drawn_on,
    p.disclosure,
    t.department_code,
    t.matter_code,
    t.industry_code,
    t.uscc,
    t.grade_class,
    t.inspector_ids,
    t.selection,
    t.override_reason
from {{ source('ops', 'inspection_tasks') }} as t
inner join {{ source('ops', 'inspection_plans') }} as p using (plan_id)

select
    task_id,
    plan_id,
    department_code,
    matter_code,
    industry_code,
    uscc,
    grade_class,
    inspector_ids
from {{ source('ops', 'inspection_tasks') }}

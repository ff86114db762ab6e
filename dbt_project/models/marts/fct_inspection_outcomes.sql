{{ config(materialized='view') }}
-- 一公开: every drawn task (per department, matter and subject) with its result as the department
-- returned it through the inbox (the latest row for the task and matter, or for the task when the
-- row names no matter), at the department's disclosure level. Publication shares it as dataset
-- inspections; the results deadline counts working days from inspection_date.
-- A task's result: the row for its matter, else the row naming no matter; two hash joins (a lateral
-- lookup per task scanned every result once per task: quadratic as results accumulate).
with results as materialized (
    select distinct on (department_code, task_id, coalesce(matter_code, ''))
        department_code, task_id, matter_code, inspection_date, result, batch_id, row_number
    from {{ ref('stg_departments__inspection_results') }}
    where task_id is not null and superseded_by_batch_id is null
    order by department_code, task_id, coalesce(matter_code, ''), batch_id desc, row_number desc
)
select
    (t.plan_id || '|' || t.uscc)::text as outcome_key,
    t.task_id::text as task_id,
    t.plan_id::text as plan_id,
    t.draw_round::text as draw_round,
    t.drawn_on::date as drawn_on,
    t.department_code::text as department_code,
    d.department_name::text as department_name,
    t.matter_code::text as matter_code,
    m.matter_name::text as matter_name,
    t.industry_code::text as industry_code,
    t.uscc::text as uscc,
    s.subject_name::text as subject_name,
    t.grade_class::text as grade_class,
    t.selection::text as selection,
    t.override_reason::text as override_reason,
    (case when rx.task_id is not null then rx.inspection_date else rn.inspection_date end)::date as inspection_date,
    (case when rx.task_id is not null then rx.result else rn.result end)::text as result,
    (case (case when rx.task_id is not null then rx.result else rn.result end)
        when 'no_problem' then '未发现问题'
        when 'corrected' then '发现问题已责令改正'
        when 'penalised' then '发现问题已依法处罚'
        when 'not_found_at_address' then '通过登记的住所无法联系'
    end)::text as result_label,
    (case when rx.task_id is not null then rx.batch_id else rn.batch_id end)::bigint as result_batch_id,
    coalesce(t.disclosure, 'internal')::text as disclosure_level,
    st.results_deadline_workdays::integer as results_deadline_workdays
from {{ ref('stg_ops__inspection_tasks') }} as t
left join {{ ref('departments') }} as d on d.department_code = t.department_code
left join {{ ref('dim_inspection_matters') }} as m
    on m.department_code = t.department_code and m.matter_code = t.matter_code
left join {{ ref('dim_subjects') }} as s on s.uscc = t.uscc
left join {{ ref('dim_inspection_settings') }} as st on st.department_code = t.department_code
left join results as rx
    on rx.department_code = t.department_code and rx.task_id = t.task_id and rx.matter_code = t.matter_code
left join results as rn
    on rn.department_code = t.department_code and rn.task_id = t.task_id and rn.matter_code is null

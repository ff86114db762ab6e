-- 信用监管执行信息, judged: one row per execution record a department reported (its current
-- version), accepted when the measure applied to the subject on the day it was applied (a row of
-- marts.fct_subject_measures: same subject and measure, applied_date within due_from..due_until),
-- otherwise rejected with the reason. A rejected record never counts as applied.
with records as (
    select *
    from {{ ref('stg_departments__measure_executions') }}
    where superseded_by_batch_id is null
),

listed as (
    select measure_code, array_agg(distinct department_code) as departments
    from {{ ref('supervision_measures') }}
    group by measure_code
),

ever_brought as (
    select distinct uscc, measure_code
    from {{ ref('fct_subject_measures') }}
),

-- the measure row in force on the day (at most one per subject and measure: a measure code is
-- one industry's, and a subject's spells in an industry do not overlap)
matched as (
    select distinct on (r.batch_id, r.row_number)
        r.*,
        m.industry_code, m.evaluation_period, m.class_spell, m.grade_class, m.due_from
    from records as r
    left join {{ ref('fct_subject_measures') }} as m
        on m.uscc = r.uscc and m.measure_code = r.measure_code and m.department_code = r.department_code
        and r.applied_date between m.due_from and m.due_until
    order by r.batch_id, r.row_number, m.due_from desc nulls last
),

judged as (
    select
        m.*,
        case
            when m.due_from is not null then null
            when l.measure_code is null then 'unknown_measure'
            when not (m.department_code = any(l.departments)) then 'other_department'
            when e.uscc is not null then 'outside_period'
            else 'not_applicable'
        end as reject_code
    from matched as m
    left join listed as l on l.measure_code = m.measure_code
    left join ever_brought as e on e.uscc = m.uscc and e.measure_code = m.measure_code
)

select
    department_code::text as department_code,
    uscc::text as uscc,
    subject_name::text as subject_name,
    measure_code::text as measure_code,
    measure_name::text as measure_name,
    applied_date::date as applied_date,
    applied_by::text as applied_by,
    document_number::text as document_number,
    execution_note::text as execution_note,
    (reject_code is null)::boolean as accepted,
    reject_code::text as reject_code,
    (case reject_code
        when 'unknown_measure' then '措施代码不在任何措施清单中 / the measure code is on no measures list'
        when 'other_department' then '该措施属于其他部门的措施清单 / the measure is on another department''s list'
        when 'outside_period' then '执行日期不在该主体此项措施的适用期内 / the measure did not apply to the subject on that day'
        when 'not_applicable' then '该主体的信用等级不适用此项措施 / the subject''s grade does not bring this measure'
    end)::text as reject_reason,
    industry_code::text as industry_code,
    evaluation_period::text as evaluation_period,
    class_spell::integer as class_spell,
    grade_class::text as grade_class,
    batch_id::bigint as batch_id,
    source_file::text as source_file,
    row_number::integer as row_number
from judged

-- 信用监管执行情况: one row per measure that must be recorded as applied (marts.fct_subject_measures,
-- must_record), with its deadline, record_within_workdays working days after due_from on the
-- platform's calendar (ops.work_calendar), the first accepted execution record
-- (marts.fct_measure_execution_records), and its status on the day the model was built (var
-- measures_as_of, default today in Asia/Shanghai): applied on time, applied late, overdue (the
-- deadline passed while the measure was in force, and nothing was recorded), due (the deadline
-- has not come), or lapsed (the measure ended before its deadline, unapplied).
{% set as_of = var('measures_as_of', none) %}
with as_of as (
    select {% if as_of %}'{{ as_of }}'::date{% else %}(now() at time zone 'Asia/Shanghai')::date{% endif %} as as_of
),

due as (
    select *
    from {{ ref('fct_subject_measures') }}
    where must_record
),

applied as (
    select
        uscc, industry_code, evaluation_period, class_spell, measure_code,
        min(applied_date) as applied_on,
        count(*) as records
    from {{ ref('fct_measure_execution_records') }}
    where accepted
    group by uscc, industry_code, evaluation_period, class_spell, measure_code
),

calendar as (
    select day, workday, workday_number from {{ ref('stg_ops__work_calendar') }}
),

-- the status day's working-day number, looked up once (not once per measure)
as_of_number as (
    select as_of.as_of, c.workday_number as as_of_number
    from as_of
    left join calendar as c on c.day = as_of.as_of
),

dated as (
    select
        d.*,
        dl.day as deadline,
        a.applied_on,
        coalesce(a.records, 0) as records
    from due as d
    left join calendar as df on df.day = d.due_from
    left join calendar as dl on dl.workday and dl.workday_number = df.workday_number + d.record_within_workdays
    left join applied as a using (uscc, industry_code, evaluation_period, class_spell, measure_code)
),

judged as (
    select
        dated.*,
        as_of.as_of,
        as_of.as_of_number,
        case
            when applied_on is not null and applied_on <= deadline then 'applied_on_time'
            when applied_on is not null then 'applied_late'
            when deadline is null then 'due'
            when due_until < deadline and due_until < as_of.as_of then 'lapsed'
            when deadline >= as_of.as_of then 'due'
            else 'overdue'
        end as status
    from dated
    cross join as_of_number as as_of
)

select
    j.department_code::text as department_code,
    j.measure_code::text as measure_code,
    j.measure_name::text as measure_name,
    j.measure_kind::text as measure_kind,
    j.uscc::text as uscc,
    s.subject_name::text as subject_name,
    j.industry_code::text as industry_code,
    j.evaluation_period::text as evaluation_period,
    j.class_spell::integer as class_spell,
    j.grade_class::text as grade_class,
    j.applied_by::text as applied_by,
    j.due_from::date as due_from,
    j.due_until::date as due_until,
    j.record_within_workdays::integer as record_within_workdays,
    j.deadline::date as deadline,
    j.applied_on::date as applied_on,
    j.records::integer as records,
    j.status::text as status,
    (case j.status
        when 'applied_on_time' then '按时执行'
        when 'applied_late' then '逾期执行'
        when 'overdue' then '逾期未执行'
        when 'due' then '待执行'
        when 'lapsed' then '措施已终止未执行'
    end)::text as status_label,
    (case
        when j.status = 'applied_late' then la.workday_number - dl.workday_number
        when j.status = 'overdue' then j.as_of_number - dl.workday_number
    end)::integer as workdays_late,
    j.as_of::date as status_on
from judged as j
left join {{ ref('dim_subjects') }} as s on s.uscc = j.uscc
left join calendar as dl on dl.day = j.deadline
left join calendar as la on la.day = j.applied_on

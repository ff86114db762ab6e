-- 异议登记: one row per objection filed through a department (source objection, its current
-- version), with the subject, the industry (resolved from the code or the name delivered), the
-- reply deadline (reply_workdays working days after the day it was received, on the platform's
-- calendar ops.work_calendar; seed objection_settings, else 15) and whether that deadline has
-- passed on the day the model was built (var objections_as_of, default today in Asia/Shanghai).
{% set as_of = var('objections_as_of', none) %}
with as_of as (
    select {% if as_of %}'{{ as_of }}'::date{% else %}(now() at time zone 'Asia/Shanghai')::date{% endif %} as as_of
),

objections as (
    select distinct on (department_code, objection_number) *
    from {{ ref('stg_departments__objections') }}
    where superseded_by_batch_id is null and objection_number is not null
    order by department_code, objection_number, batch_id desc, row_number desc
),

settings as (
    select department_code::text as department_code, reply_workdays::integer as reply_workdays
    from {{ ref('objection_settings') }}
),

calendar as (
    select day, workday, workday_number from {{ ref('stg_ops__work_calendar') }}
)

select
    (o.department_code || '|' || o.objection_number)::text as objection_key,
    o.department_code::text as department_code,
    o.objection_number::text as objection_number,
    o.uscc::text as uscc,
    o.subject_name::text as subject_name,
    i.industry_code::text as industry_code,
    o.industry::text as industry_as_delivered,
    o.evaluation_period::text as evaluation_period,
    o.grounds::text as grounds,
    o.evidence_reference::text as evidence_reference,
    o.answer_channel::text as answer_channel,
    o.received_date::date as received_date,
    coalesce(s.reply_workdays, 15)::integer as reply_workdays,
    dl.day::date as reply_deadline,
    'received'::text as state,
    coalesce(dl.day < a.as_of, false)::boolean as is_overdue,
    a.as_of::date as status_on,
    o.batch_id::bigint as batch_id,
    o.source_file::text as source_file
from objections as o
cross join as_of as a
left join settings as s on s.department_code = o.department_code
left join {{ ref('industries') }} as i on i.industry_code = o.industry or i.industry_name = o.industry
left join calendar as rc on rc.day = o.received_date
left join calendar as dl on dl.workday and dl.workday_number = rc.workday_number + coalesce(s.reply_workdays, 15)

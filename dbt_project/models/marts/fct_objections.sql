{{ config(materialized='view') }}
-- 异议登记: one row per objection filed through a department (source objection, its current
-- version), with the subject, the industry (resolved from the code or the name delivered), the
-- reply deadline (reply_workdays working days after the day it was received, on the platform's
-- calendar ops.work_calendar; seed objection_settings, else 15), where it stands (its latest step
-- in ops.case_events) and whether it is overdue: not answered and the deadline passed before the
-- status day (var objections_as_of, default today in Asia/Shanghai). A view, so that a step
-- recorded by `credit-platform objection decide` shows at once.
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
    select department_code, reply_workdays from {{ ref('dim_objection_settings') }}
),

calendar as (
    select day, workday, workday_number from {{ ref('stg_ops__work_calendar') }}
),

states as (
    select * from {{ ref('int_case_states') }} where case_kind = 'objection'
)

select
    (o.department_code || '|' || o.objection_number)::text as objection_key,
    o.department_code::text as department_code,
    o.objection_number::text as objection_number,
    o.uscc::text as uscc,
    coalesce(o.subject_name, subj.subject_name)::text as subject_name,
    i.industry_code::text as industry_code,
    o.industry::text as industry_as_delivered,
    o.evaluation_period::text as evaluation_period,
    o.grounds::text as grounds,
    o.evidence_reference::text as evidence_reference,
    o.answer_channel::text as answer_channel,
    o.received_date::date as received_date,
    coalesce(s.reply_workdays, 15)::integer as reply_workdays,
    dl.day::date as reply_deadline,
    coalesce(st.state, 'received')::text as state,
    st.state_since::date as state_since,
    st.last_actor::text as last_actor,
    st.decision::text as decision,
    st.decision_reason::text as decision_reason,
    st.refusal_reason::text as refusal_reason,
    st.effect::text as effect,
    st.answered_on::date as answered_on,
    coalesce(st.answered_on > dl.day, false)::boolean as answered_late,
    coalesce(st.answered_on is null and dl.day < a.as_of, false)::boolean as is_overdue,
    a.as_of::date as status_on,
    o.batch_id::bigint as batch_id,
    o.source_file::text as source_file
from objections as o
cross join as_of as a
left join settings as s on s.department_code = o.department_code
left join {{ ref('industries') }} as i on i.industry_code = o.industry or i.industry_name = o.industry
left join calendar as rc on rc.day = o.received_date
left join calendar as dl on dl.workday and dl.workday_number = rc.workday_number + coalesce(s.reply_workdays, 15)
left join {{ ref('dim_subjects') }} as subj on subj.uscc = o.uscc
left join states as st on st.department_code = o.department_code and st.case_number = o.objection_number

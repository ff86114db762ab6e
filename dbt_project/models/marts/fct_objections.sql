{{ config(materialized='view') }}
-- 异议登记: one row per objection filed through a department (source objection, its current
-- version), with the subject, the industry (resolved from the code or the name delivered), the
-- reply deadline (reply_workdays working days after the day it was received, on the platform's
-- calendar ops.work_calendar; seed objection_settings, else 15), where it stands (its latest step
-- in ops.case_events) and whether it is overdue: not answered and the deadline passed before the
-- status day (var objections_as_of, default today in Asia/Shanghai). A view, so that a step
-- recorded by `credit-platform objection decide` shows at once.
with objections as (
    select distinct on (department_code, objection_number) *
    from {{ ref('stg_departments__objections') }}
    where superseded_by_batch_id is null and objection_number is not null
    order by department_code, objection_number, batch_id desc, row_number desc
),

{{ case_register_ctes('objection') }}

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
{{ case_register_columns('o') }}
from objections as o
left join {{ ref('industries') }} as i on i.industry_code = o.industry or i.industry_name = o.industry
{{ case_register_joins('o', 'objection_number') }}

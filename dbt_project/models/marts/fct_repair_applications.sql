{{ config(materialized='view') }}
-- 信用修复申请登记: one row per application to repair a penalty or a serious-dishonesty list entry
-- filed through a department (source repair_application, its current version), with the record it
-- names, the day from which the subject may apply (marts.fct_repairable_records: the end of the
-- minimum publication period of the rule in force at the record's date), whether the application came
-- on or after that day, whether the record is already repaired, the reply deadline as for
-- objections (marts.dim_objection_settings), where it stands (ops.case_events)
-- and whether it is overdue on the status day (var objections_as_of, default today).
with applications as (
    select distinct on (department_code, application_number) *
    from {{ ref('stg_departments__repair_applications') }}
    where superseded_by_batch_id is null and application_number is not null
    order by department_code, application_number, batch_id desc, row_number desc
),

records as (
    -- the record the application names: a penalty by its decision number; a list entry by its
    -- listing date when given, else the subject's latest entry still in force. The deciding
    -- department's own record first.
    select distinct on (a.department_code, a.application_number)
        a.department_code, a.application_number, r.department_code as record_department_code,
        r.record_reference as matched_reference, r.record_date, r.severity, r.publication_rule,
        r.may_apply_from, r.repaired_date
    from applications as a
    inner join {{ ref('fct_repairable_records') }} as r
        on r.uscc = a.uscc and r.record_type = a.record_type
        and (r.record_reference = a.record_reference or a.record_type = 'serious_dishonesty')
    order by a.department_code, a.application_number, r.record_reference = a.record_reference desc,
        r.department_code = a.department_code desc, r.repaired_date is null desc, r.record_date desc
),

{{ case_register_ctes('repair') }}

select
    (a.department_code || '|' || a.application_number)::text as application_key,
    a.department_code::text as department_code,
    a.application_number::text as application_number,
    a.uscc::text as uscc,
    coalesce(a.subject_name, subj.subject_name)::text as subject_name,
    a.record_type::text as record_type,
    a.record_reference::text as record_reference,
    (r.application_number is not null)::boolean as record_found,
    r.record_department_code::text as record_department_code,
    r.record_date::date as record_date,
    r.matched_reference::text as matched_reference,
    r.severity::text as severity,
    r.publication_rule::text as publication_rule,
    r.may_apply_from::date as may_apply_from,
    coalesce(a.received_date >= r.may_apply_from, false)::boolean as is_after_minimum_period,
    r.repaired_date::date as repaired_date,
    a.grounds::text as grounds,
    a.evidence_reference::text as evidence_reference,
    a.answer_channel::text as answer_channel,
{{ case_register_columns('a') }}
from applications as a
left join records as r on r.department_code = a.department_code and r.application_number = a.application_number
{{ case_register_joins('a', 'application_number') }}

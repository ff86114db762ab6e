-- Subjects a department must inspect whatever the draw (必检), with the reason: listed as seriously
-- dishonest today (any department's list), or an open complaint to the department (the latest
-- status of each complaint). Only subjects the department supervises and not deregistered.
with listed as (
    select
        uscc,
        string_agg({{ record_id("'serious_dishonesty_list'", 'batch_id', 'row_number') }}, ' '
            order by batch_id, row_number) as source_records
    from {{ ref('stg_departments__serious_dishonesty_list') }}
    where superseded_by_batch_id is null
        and listed_date <= current_date and (removed_date is null or removed_date > current_date)
    group by uscc
),
complaints as (
    select distinct on (department_code, complaint_id)
        department_code, complaint_id, uscc, status, batch_id, row_number
    from {{ ref('stg_departments__complaints') }}
    where superseded_by_batch_id is null
    order by department_code, complaint_id, batch_id desc, row_number desc
),
open_complaints as (
    select
        department_code,
        uscc,
        string_agg({{ record_id("'complaints'", 'batch_id', 'row_number') }}, ' '
            order by batch_id, row_number) as source_records
    from complaints
    where status = 'open'
    group by department_code, uscc
),
scopes as (
    select distinct department_code, uscc from {{ ref('fct_supervision_scopes') }} where not is_deregistered
)
select
    s.department_code::text as department_code,
    s.uscc::text as uscc,
    'serious_dishonesty'::text as reason,
    l.source_records::text as source_records
from scopes as s inner join listed as l using (uscc)
union all
select s.department_code, s.uscc, 'open_complaint' as reason, c.source_records
from scopes as s inner join open_complaints as c using (department_code, uscc)

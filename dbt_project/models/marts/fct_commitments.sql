-- Credit commitments (信用承诺 and 履约践诺) as they stand: one row per commitment, its current
-- version (a later delivery of the same department, subject, type and date supersedes: the
-- fulfilment found, or a consent withdrawn). Whether it may be shared is consent_to_publish; the
-- shared ones are in fct_shared_records. A commitment without a type is a record of its own.
with current_rows as (
    select *
    from {{ ref('stg_departments__commitments') }}
    where superseded_by_batch_id is null and uscc is not null
),

keyed as (
    select distinct on (department_code, uscc, commitment_type, commitment_date,
                        case when commitment_type is null then batch_id end,
                        case when commitment_type is null then row_number end)
        *
    from current_rows
    order by department_code, uscc, commitment_type, commitment_date,
        case when commitment_type is null then batch_id end,
        case when commitment_type is null then row_number end,
        batch_id desc, row_number desc
)

select
    case when commitment_type is not null
        then 'commitment|' || department_code || '|' || uscc || '|' || commitment_type || '|'
            || coalesce(commitment_date::text, '')
        else 'commitment|' || department_code || '|' || uscc || '|batch ' || batch_id || ' row ' || row_number
    end::text as commitment_key,
    department_code::text as department_code,
    uscc::text as uscc,
    subject_name::text as subject_name,
    commitment_type::text as commitment_type,
    commitment_content::text as commitment_content,
    commitment_date::date as commitment_date,
    coalesce(consent_to_publish, false)::boolean as consent_to_publish,
    fulfilment_status::text as fulfilment_status,
    status_date::date as status_date,
    accepting_unit::text as accepting_unit,
    batch_id::bigint as batch_id
from keyed

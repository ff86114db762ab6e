-- The latest register row per subject (a later load supersedes an earlier one).
select distinct on (uscc)
    uscc,
    subject_name,
    subject_type,
    division_code,
    established_date,
    registration_status,
    is_deregistered
from {{ ref('stg_registry__subjects') }}
where superseded_by_batch_id is null
order by uscc, batch_id desc, row_number desc

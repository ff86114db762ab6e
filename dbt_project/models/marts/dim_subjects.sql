select
    uscc,
    subject_name,
    subject_type,
    division_code,
    established_date,
    registration_status,
    is_deregistered
from {{ ref('int_subjects_deduplicated') }}

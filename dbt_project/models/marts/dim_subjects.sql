{{ config(indexes=[{'columns': ['uscc']}]) }}
-- Indexed by subject (a subject's name is looked up one by one).
select
    uscc,
    subject_name,
    subject_type,
    division_code,
    established_date,
    registration_status,
    is_deregistered
from {{ ref('int_subjects_deduplicated') }}

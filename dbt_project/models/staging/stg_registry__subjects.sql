select
    uscc,
    subject_name,
    subject_type,
    division_code,
    established_date,
    registration_status,
    registration_status = '注销' as is_deregistered,
    old_registration_number,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'subject_register') }}

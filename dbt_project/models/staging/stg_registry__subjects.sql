select
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('subject_type') }} as subject_type,
    {{ raw_text('division_code') }} as division_code,
    {{ raw_date('established_date') }} as established_date,
    {{ raw_text('registration_status') }} as registration_status,
    coalesce(registration_status = '注销', false) as is_deregistered,
    {{ raw_text('old_registration_number') }} as old_registration_number,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('subject_register') }}

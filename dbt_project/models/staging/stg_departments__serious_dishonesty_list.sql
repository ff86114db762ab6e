select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_date('listed_date') }} as listed_date,
    {{ raw_date('removed_date') }} as removed_date,
    {{ raw_text('listing_authority') }} as listing_authority,
    {{ raw_text('listing_reason') }} as listing_reason,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('serious_dishonesty_list') }}

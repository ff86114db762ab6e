select
    department_code,
    uscc,
    subject_name,
    listed_date,
    removed_date,
    listing_authority,
    listing_reason,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'serious_dishonesty_list') }}

select
    department_code,
    uscc,
    subject_name,
    commendation_name,
    commendation_level,
    commendation_date,
    awarding_authority,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'commendations') }}

select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('commendation_name') }} as commendation_name,
    {{ raw_text('commendation_level') }} as commendation_level,
    {{ raw_date('commendation_date') }} as commendation_date,
    {{ raw_text('awarding_authority') }} as awarding_authority,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('commendations') }}

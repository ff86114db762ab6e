select
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_grade('grade') }} as province_grade,
    {{ raw_number('score') }} as province_score,
    {{ raw_date('evaluation_date') }} as evaluation_date,
    {{ raw_text('push_batch_no') }} as push_batch_no,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('province_evaluations') }}

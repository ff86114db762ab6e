select
    uscc,
    subject_name,
    grade as province_grade,
    score as province_score,
    evaluation_date,
    push_batch_no,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'province_evaluations') }}

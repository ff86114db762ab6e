select
    department_code,
    {{ raw_code('adjustment_id') }} as adjustment_id,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_code('industry_code') }} as industry_code,
    {{ raw_code('evaluation_period') }} as evaluation_period,
    {{ raw_grade('adjusted_grade') }} as adjusted_grade,
    {{ raw_text('reason') }} as reason,
    {{ raw_text('approver') }} as approver,
    {{ raw_date('approval_date') }} as approval_date,
    {{ raw_code('objection_id') }} as objection_id,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('grade_adjustments') }}

select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    upper({{ raw_code('measure_code') }}) as measure_code,
    {{ raw_text('measure_name') }} as measure_name,
    {{ raw_date('applied_date') }} as applied_date,
    {{ raw_text('applied_by') }} as applied_by,
    {{ raw_text('document_number') }} as document_number,
    {{ raw_text('execution_note') }} as execution_note,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('measure_executions') }}

select
    department_code,
    {{ raw_code('objection_number') }} as objection_number,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('industry') }} as industry,
    {{ raw_code('evaluation_period') }} as evaluation_period,
    {{ raw_text('grounds') }} as grounds,
    {{ raw_text('evidence_reference') }} as evidence_reference,
    {{ raw_code('answer_channel') }} as answer_channel,
    {{ raw_date('received_date') }} as received_date,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('objections') }}

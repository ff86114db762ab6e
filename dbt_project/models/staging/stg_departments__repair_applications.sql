select
    department_code,
    {{ raw_code('application_number') }} as application_number,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    case {{ raw_code('record_type') }}
        when '行政处罚' then 'penalty' when '严重失信主体名单' then 'serious_dishonesty'
    end as record_type,
    {{ raw_code('record_reference') }} as record_reference,
    {{ raw_text('grounds') }} as grounds,
    {{ raw_text('evidence_reference') }} as evidence_reference,
    {{ raw_code('answer_channel') }} as answer_channel,
    {{ raw_date('received_date') }} as received_date,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('repair_applications') }}

select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('commitment_type') }} as commitment_type,
    {{ raw_text('commitment_content') }} as commitment_content,
    {{ raw_date('commitment_date') }} as commitment_date,
    {{ raw_code('consent_to_publish') }} = '是' as consent_to_publish,
    case {{ raw_code('fulfilment_status') }}
        when '已履约' then 'kept' when '未履约' then 'broken' when '履约中' then 'pending'
    end as fulfilment_status,
    {{ raw_date('status_date') }} as status_date,
    {{ raw_text('accepting_unit') }} as accepting_unit,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('commitments') }}

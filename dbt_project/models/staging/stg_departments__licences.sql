select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('decision_number') }} as decision_number,
    {{ raw_text('licence_category') }} as licence_category,
    {{ raw_text('licence_number') }} as licence_number,
    {{ raw_date('decision_date') }} as decision_date,
    {{ raw_date('valid_from') }} as valid_from_date,
    {{ raw_date('valid_to') }} as valid_to_date,
    case {{ raw_code('licence_status') }}
        when '正常' then 'valid' when '有效' then 'valid'
        when '撤销' then 'revoked' when '吊销' then 'revoked'
        when '注销' then 'cancelled' when '失效' then 'cancelled'
        else 'unknown'
    end as licence_status,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('licences') }}

select
    department_code,
    {{ raw_code('complaint_id') }} as complaint_id,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_date('received_date') }} as received_date,
    {{ raw_text('channel') }} as channel,
    {{ raw_text('summary') }} as summary,
    case {{ raw_code('status') }}
        when '办理中' then 'open' when '已办结' then 'closed' when '不予受理' then 'not_accepted'
    end as status,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('complaints') }}

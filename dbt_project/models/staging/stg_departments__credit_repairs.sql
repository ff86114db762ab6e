select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    case {{ raw_code('record_type') }}
        when '行政处罚' then 'penalty' when '严重失信主体名单' then 'serious_dishonesty'
    end as record_type,
    {{ raw_code('record_reference') }} as record_reference,
    {{ raw_date('repair_date') }} as repair_date,
    {{ raw_text('repair_number') }} as repair_number,
    {{ raw_text('repair_authority') }} as repair_authority,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('credit_repairs') }}

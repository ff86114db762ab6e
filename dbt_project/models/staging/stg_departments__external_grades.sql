select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    case {{ raw_code('grade_system') }}
        when '纳税信用' then 'tax' when '公路建设市场信用' then 'highway' when '环保信用' then 'environmental'
    end as grade_system,
    {{ raw_code('grade') }} as grade,
    {{ raw_date('evaluation_date') }} as evaluation_date,
    {{ raw_text('issuing_authority') }} as issuing_authority,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('external_grades') }}

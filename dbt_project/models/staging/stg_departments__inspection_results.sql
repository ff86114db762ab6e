select
    department_code,
    {{ raw_text('task_id') }} as task_id,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('matter_code') }} as matter_code,
    {{ raw_date('inspection_date') }} as inspection_date,
    case {{ raw_code('result') }}
        when '未发现问题' then 'no_problem'
        when '发现问题已责令改正' then 'corrected'
        when '发现问题已依法处罚' then 'penalised'
        when '通过登记的住所无法联系' then 'not_found_at_address'
    end as result,
    {{ raw_text('inspectors') }} as inspectors,
    {{ raw_text('remarks') }} as remarks,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('inspection_results') }}

select
    department_code,
    uscc,
    industry_code,
    supervised_from,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'supervision_scopes') }}

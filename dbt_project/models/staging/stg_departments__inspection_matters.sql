select
    department_code,
    matter_code,
    matter_name,
    industry_code,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'inspection_matters') }}

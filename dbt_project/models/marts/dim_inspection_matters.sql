select distinct on (department_code, matter_code)
    department_code,
    matter_code,
    matter_name,
    industry_code
from {{ ref('stg_departments__inspection_matters') }}
where superseded_by_batch_id is null
order by department_code, matter_code, batch_id desc, row_number desc

-- The latest roster row per department and inspector.
select distinct on (department_code, inspector_id)
    department_code,
    inspector_id,
    inspector_name,
    certificate_number,
    conflict_usccs
from {{ ref('stg_departments__inspectors') }}
where superseded_by_batch_id is null
order by department_code, inspector_id, batch_id desc, row_number desc

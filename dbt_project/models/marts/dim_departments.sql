-- 部门: the departments the bureau coordinates (seed departments), as the supervision view and
-- analysts read them.
select
    department_code,
    department_name,
    department_uscc
from {{ ref('departments') }}

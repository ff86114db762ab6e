select
    i.industry_code,
    i.industry_name,
    i.department_code,
    d.department_name,
    i.evaluation_cycle
from {{ ref('industries') }} as i
inner join {{ ref('departments') }} as d on d.department_code = i.department_code

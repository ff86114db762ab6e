-- Every department's draw settings: its own row of the seed, else the default ('*').
select
    d.department_code,
    coalesce(s.include_dishonest, x.include_dishonest) as include_dishonest,
    coalesce(s.include_open_complaints, x.include_open_complaints) as include_open_complaints,
    coalesce(s.plan_disclosure, x.plan_disclosure) as plan_disclosure,
    coalesce(s.results_deadline_workdays, x.results_deadline_workdays) as results_deadline_workdays,
    case when s.department_code is null then 'default' else 'department' end as configured_by
from {{ ref('departments') }} as d
left join {{ ref('inspection_settings') }} as s on s.department_code = d.department_code
cross join (select * from {{ ref('inspection_settings') }} where department_code = '*') as x

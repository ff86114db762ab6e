-- Every department's draw policy per grade class: its own four rows of the seed, else the defaults ('*').
with own as (
    select distinct department_code from {{ ref('inspection_ratios') }} where department_code <> '*'
)
select
    d.department_code,
    r.grade_class,
    r.sampling_ratio,
    r.min_count,
    r.max_per_year,
    case when r.department_code = '*' then 'default' else 'department' end as configured_by
from {{ ref('departments') }} as d
inner join {{ ref('inspection_ratios') }} as r
    on r.department_code = d.department_code
    or (r.department_code = '*' and d.department_code not in (select department_code from own))

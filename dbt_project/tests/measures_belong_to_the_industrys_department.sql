{#
  A measures list is the supervising department's: each measure of an industry names the
  department that supervises it (seed industries). Returns the measures filed under another.
#}
select m.measure_list_version, m.industry_code, m.department_code, i.department_code as supervising_department
from {{ ref('supervision_measures') }} m
join {{ ref('industries') }} i on i.industry_code = m.industry_code
where m.department_code <> i.department_code

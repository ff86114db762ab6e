-- Who is graded where: each (subject, industry) a department's scope lists, when that department
-- owns the industry, for every evaluation period of the industry's cycle (half-year, year or
-- quarter: seed industries); deregistered subjects are not graded.
with scopes as (
    select distinct s.uscc, s.industry_code, s.department_code, i.evaluation_cycle
    from {{ ref('stg_departments__supervision_scopes') }} as s
    inner join {{ ref('industries') }} as i
        on i.industry_code = s.industry_code and i.department_code = s.department_code
)

select
    scopes.uscc,
    scopes.industry_code,
    scopes.department_code,
    p.evaluation_period,
    p.period_start_date,
    p.period_end_date
from scopes
inner join {{ ref('int_subjects_deduplicated') }} as subj on subj.uscc = scopes.uscc
inner join {{ ref('evaluation_periods') }} as p on p.evaluation_cycle = scopes.evaluation_cycle
where not subj.is_deregistered

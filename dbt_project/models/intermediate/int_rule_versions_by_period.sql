-- The rule version in force at each period's end date.
select
    p.evaluation_period,
    p.period_start_date,
    p.period_end_date,
    r.rule_version
from {{ ref('evaluation_periods') }} as p
inner join {{ ref('rule_versions') }} as r
    on p.period_end_date >= r.effective_from
    and (r.effective_to is null or p.period_end_date <= r.effective_to)

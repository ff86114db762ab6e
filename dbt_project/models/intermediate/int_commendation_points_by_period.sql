-- Points for commendations within the window ending at each period's end, capped per rule version.
select
    r.evaluation_period,
    c.uscc,
    count(*) as commendation_count,
    least(sum(coalesce(cp.points, 0)), max(r.commendation_cap)) as commendation_points
from {{ ref('stg_departments__commendations') }} as c
inner join {{ ref('int_rule_versions_by_period') }} as r
    on c.commendation_date <= r.period_end_date
    and c.commendation_date > r.period_end_date - make_interval(months => r.penalty_window_months)
left join {{ ref('commendation_points') }} as cp
    on cp.rule_version = r.rule_version and cp.commendation_level = c.commendation_level
group by r.evaluation_period, c.uscc

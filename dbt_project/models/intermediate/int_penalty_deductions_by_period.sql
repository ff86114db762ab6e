-- Points deducted for penalties decided within the penalty window ending at each period's end.
select
    r.evaluation_period,
    pen.uscc,
    count(*) as penalty_count,
    sum(coalesce(d.deduction_points, other.deduction_points)) as deduction_points
from {{ ref('stg_departments__penalties') }} as pen
inner join {{ ref('int_rule_versions_by_period') }} as r
    on pen.decision_date <= r.period_end_date
    and pen.decision_date > r.period_end_date - make_interval(months => r.penalty_window_months)
left join {{ ref('penalty_deductions') }} as d
    on d.rule_version = r.rule_version and d.penalty_category = pen.penalty_category
left join {{ ref('penalty_deductions') }} as other
    on other.rule_version = r.rule_version and other.penalty_category = '其他'
group by r.evaluation_period, pen.uscc

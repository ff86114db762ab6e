-- Points deducted per subject and period for the penalties that still count at the period's end:
-- decided within the penalty window, not yet repaired, and not past the end of publication that
-- the rule in force at their decision date gives. The deduction is by severity tier.
select
    r.evaluation_period,
    pen.uscc,
    count(*) as penalty_count,
    sum(d.deduction_points) as deduction_points
from {{ ref('int_penalties_classified') }} as pen
inner join {{ ref('int_rule_versions_by_period') }} as r
    on pen.decision_date <= r.period_end_date
    and pen.decision_date > r.period_end_date - make_interval(months => r.penalty_window_months)
inner join {{ ref('severity_deductions') }} as d
    on d.rule_version = r.rule_version and d.severity = pen.severity
where (pen.repaired_date is null or pen.repaired_date > r.period_end_date)
    and pen.computed_publication_end_date >= r.period_end_date
group by r.evaluation_period, pen.uscc

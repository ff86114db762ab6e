-- The rule version of each period: the one recorded when the period was closed, otherwise the one
-- in force at the period's end date (so a rule version added later never changes a closed period),
-- with the fingerprint of its rules. Built after int_rule_fingerprints and its test
-- rules_unchanged_since_closing, so that rules edited in place under a closed period stop the grading.
select
    p.evaluation_period,
    p.period_start_date,
    p.period_end_date,
    coalesce(c.rule_version, r.rule_version) as rule_version,
    f.rule_fingerprint
from {{ ref('evaluation_periods') }} as p
left join {{ ref('int_period_cutoffs') }} as c on c.evaluation_period = p.evaluation_period
left join {{ ref('rule_versions') }} as r
    on p.period_end_date >= r.effective_from
    and (r.effective_to is null or p.period_end_date <= r.effective_to)
left join {{ ref('int_rule_fingerprints') }} as f on f.rule_version = coalesce(c.rule_version, r.rule_version)
where c.rule_version is not null or r.rule_version is not null

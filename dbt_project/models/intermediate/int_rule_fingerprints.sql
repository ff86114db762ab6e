-- The fingerprint of the rules that decide grades under each rule version (macro
-- rule_fingerprints: an md5 of the scoring columns of its indicator catalogue, cut points, grade
-- shares, severity deductions, commendation points and veto rules, and of the penalty severity
-- mapping and publication rules). A closed period records the fingerprint of its rule version
-- (ops.period_closures, read from marts.dim_rule_versions); closed_periods_with_changed_rules lists
-- the closed periods whose recorded fingerprint no longer matches (null when none), and the test
-- rules_unchanged_since_closing stops the grading when any does.
with current_rules as (
{{ rule_fingerprints() }}
),

closed as (
    select evaluation_period, rule_version, rule_fingerprint
    from {{ ref('int_period_cutoffs') }}
    where rule_fingerprint is not null
)

select
    coalesce(r.rule_version, c.rule_version) as rule_version,
    max(r.rule_fingerprint) as rule_fingerprint,
    string_agg(c.evaluation_period, ', ' order by c.evaluation_period)
        filter (where c.evaluation_period is not null and c.rule_fingerprint is distinct from r.rule_fingerprint)
        as closed_periods_with_changed_rules
from current_rules as r
full join closed as c on c.rule_version = r.rule_version
group by coalesce(r.rule_version, c.rule_version)

-- The rule versions (seed rule_versions) with the fingerprint of each version's grading rules
-- (macro rule_fingerprints): one row per rule version. close-period and regrade find the version in
-- force here and record its fingerprint in ops.period_closures. Computed from the seeds, not read
-- from int_rule_fingerprints: when rules edited in place fail that model's test, this mart is still
-- built with the new fingerprint, the one an explicit re-grading records.
with fingerprints as (
{{ rule_fingerprints() }}
)

select
    rv.rule_version::text as rule_version,
    rv.effective_from::date as effective_from,
    rv.effective_to::date as effective_to,
    rv.description::text as description,
    f.rule_fingerprint::text as rule_fingerprint
from {{ ref('rule_versions') }} as rv
inner join fingerprints as f on f.rule_version = rv.rule_version

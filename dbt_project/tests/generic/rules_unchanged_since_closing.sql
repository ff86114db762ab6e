{#
  On int_rule_fingerprints: a closed period's rules were edited in place, so the fingerprint of its
  rule version differs from the one recorded when it was closed (or last re-graded) and its grades
  would no longer reproduce. It fails the grading before any grade is computed (everything that
  grades is downstream of int_rule_versions_by_period, a child of int_rule_fingerprints). Put the
  change in a new rule version (seed rule_versions), or re-grade the closed period explicitly under
  the edited rules: credit-platform regrade PERIOD --reason ...
#}
{% test rules_unchanged_since_closing(model) %}
select
    c.evaluation_period,
    c.rule_version,
    c.rule_fingerprint as recorded_fingerprint,
    f.rule_fingerprint as current_fingerprint
from {{ ref('int_period_cutoffs') }} as c
left join {{ model }} as f on f.rule_version = c.rule_version
where c.rule_fingerprint is not null
    and f.rule_fingerprint is distinct from c.rule_fingerprint
{% endtest %}

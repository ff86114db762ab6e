{#
  On int_rule_fingerprints: a closed period's rules were edited in place, so the fingerprint of its
  rule version differs from the one recorded when it was closed (or last re-graded) and its grades
  would no longer reproduce. It fails the grading before any grade is computed (everything that
  grades is downstream of int_rule_versions_by_period, a child of int_rule_fingerprints). Put the
  change in a new rule version (seed rule_versions), or re-grade the closed period explicitly under
  the edited rules: credit-platform regrade PERIOD --reason ...
#}
{% test rules_unchanged_since_closing(model) %}
select rule_version, rule_fingerprint as current_fingerprint, closed_periods_with_changed_rules
from {{ model }}
where closed_periods_with_changed_rules is not null
{% endtest %}

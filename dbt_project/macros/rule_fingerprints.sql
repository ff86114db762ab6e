{#
  One row per rule version of seed rule_versions with the fingerprint of the rules that decide its
  grades: an md5 of the scoring columns of its indicator catalogue, cut points, grade shares,
  severity deductions, commendation points and veto rules, and of the penalty severity mapping and
  publication rules (which are not versioned by rule version). Descriptions and reasoning texts are
  left out: editing them changes no grade.

  Computed from the seeds wherever it is needed (int_rule_fingerprints, which checks the closed
  periods, and the mart dim_rule_versions, which close-period and regrade read), so the mart is no
  child of that check: when rules edited in place fail it, the mart still carries the new
  fingerprint, the one an explicit re-grading must record.
#}
{% macro rule_fingerprints() %}
{%- set parts = [
    ("indicator_catalogue", "industry_code, dimension_code, indicator_code, weight, direction, scoring_rule, points_per_item, no_data_share, window_months, grade_system", true),
    ("grade_levels", "grade, grade_class, lower_bound, upper_bound, is_lower_inclusive, level_rank", true),
    ("grade_shares", "grade_system, grade, share", true),
    ("severity_deductions", "severity, deduction_points", true),
    ("commendation_points", "commendation_level, points", true),
    ("veto_rules", "veto_rule_code, industry_code, violation_pattern, cap_class", true),
    ("penalty_severity", "department_code, penalty_category, min_fine_10k_yuan, max_fine_10k_yuan, severity", false),
    ("publication_rules", "publication_rule, effective_from, effective_to, severity, min_publication_months, max_publication_months", false),
] -%}
    select
        rv.rule_version,
        md5(
        {%- for seed, columns, versioned in parts %}
        '{{ seed }}:' || coalesce((
            select string_agg(row({{ columns }})::text, '|' order by row({{ columns }})::text)
            from {{ ref(seed) }} as s
            {%- if versioned %} where s.rule_version = rv.rule_version{% endif %}
        ), ''){{ " ||" if not loop.last }}
        {%- endfor %}
    ) as rule_fingerprint
    from {{ ref('rule_versions') }} as rv
{%- endmacro %}

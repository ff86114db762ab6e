-- The fingerprint of the rules that decide grades under each rule version: an md5 of the scoring
-- columns of its indicator catalogue, cut points, grade shares, severity deductions, commendation
-- points and veto rules, and of the penalty severity mapping and publication rules (which are not
-- versioned by rule version). Descriptions and reasoning texts are left out: editing them changes
-- no grade. A closed period records the fingerprint of its rule version (ops.period_closures);
-- closed_periods_with_changed_rules lists the closed periods whose recorded fingerprint no longer
-- matches (null when none), and the test rules_unchanged_since_closing stops the grading when any does.
{% set parts = [
    ("indicator_catalogue", "industry_code, dimension_code, indicator_code, weight, direction, scoring_rule, points_per_item, no_data_share, window_months, grade_system", true),
    ("grade_levels", "grade, grade_class, lower_bound, upper_bound, is_lower_inclusive, level_rank", true),
    ("grade_shares", "grade_system, grade, share", true),
    ("severity_deductions", "severity, deduction_points", true),
    ("commendation_points", "commendation_level, points", true),
    ("veto_rules", "veto_rule_code, industry_code, violation_pattern, cap_class", true),
    ("penalty_severity", "department_code, penalty_category, min_fine_10k_yuan, max_fine_10k_yuan, severity", false),
    ("publication_rules", "publication_rule, effective_from, effective_to, severity, min_publication_months, max_publication_months", false),
] %}
with current_rules as (
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

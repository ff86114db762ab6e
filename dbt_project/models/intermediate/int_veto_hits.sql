-- The industry veto rules (seed veto_rules) a subject's penalties trigger in a period: one row per
-- subject, industry, period and rule. A penalty triggers a rule of its subject's industry when
-- its violation type matches the rule's pattern and it still counts at the period's end (decided
-- on or before it, not repaired, still published).
select distinct
    s.uscc,
    s.industry_code,
    s.evaluation_period,
    v.veto_rule_code,
    v.cap_class
from {{ ref('int_subject_industries_scoped') }} as s
inner join {{ ref('int_rule_versions_by_period') }} as r on r.evaluation_period = s.evaluation_period
inner join {{ ref('veto_rules') }} as v on v.rule_version = r.rule_version and v.industry_code = s.industry_code
inner join {{ ref('int_indicator_records') }} as rec
    on rec.uscc = s.uscc
    and rec.indicator_source = 'penalties'
    and rec.record_date <= s.period_end_date
    and (rec.counts_until is null or s.period_end_date < rec.counts_until)
    and rec.record_text like v.violation_pattern

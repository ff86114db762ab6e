-- The industry veto rules (seed veto_rules) a subject's penalties trigger in a period: one row per
-- subject, industry, period and rule, with the penalties that triggered it (source_records: their
-- ids, separated by spaces). A penalty triggers a
-- rule of its subject's industry when its violation type matches the rule's pattern and it still
-- counts at the period's end (decided on or before it, not repaired, still published; for a closed
-- period, loaded before its cutoff).
select
    s.uscc,
    s.industry_code,
    s.evaluation_period,
    v.veto_rule_code,
    v.cap_class,
    string_agg(rec.source_record_id, ' ' order by rec.record_date, rec.batch_id, rec.row_number) as source_records
from {{ ref('int_subject_industries_scoped') }} as s
inner join {{ ref('int_rule_versions_by_period') }} as r on r.evaluation_period = s.evaluation_period
inner join {{ ref('veto_rules') }} as v on v.rule_version = r.rule_version and v.industry_code = s.industry_code
inner join {{ ref('int_indicator_records_by_period') }} as rec
    on rec.uscc = s.uscc
    and rec.evaluation_period = s.evaluation_period
    and rec.indicator_source = 'penalties'
    and rec.record_text like v.violation_pattern
group by s.uscc, s.industry_code, s.evaluation_period, v.veto_rule_code, v.cap_class

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ graded_periods_pre_hook('records') }}", post_hook="{{ graded_periods_post_hook('records') }}") }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- Points of every indicator of the industry's catalogue (rule version in force at the period's
-- end) for every subject graded in that industry and period: one row per subject, industry,
-- period and indicator. Scoring rules (seed indicator_catalogue):
--   grade_share      weight x the share of the grade in force (seed grade_shares; the province's
--                    evaluation, or an external grade of the indicator's grade_system); no grade:
--                    weight x no_data_share
--   deduct_per_item  weight minus the points of the records in the window, not below 0
--   add_per_item     the points of the records in the window, not above the weight
-- A record's points: a penalty's severity (seed severity_deductions), a commendation's level (seed
-- commendation_points), otherwise the indicator's points_per_item. Records in the window are those
-- dated after the period's end minus window_months and on or before the end, still counting then
-- (int_indicator_records_by_period). source_records names the raw rows behind the points (ids
-- separated by spaces): the records counted, or the evaluation in force. Incremental by period (macro
-- file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
with scoped as (
    select s.*, r.rule_version
    from {{ ref('int_subject_industries_scoped') }} as s
    inner join {{ ref('int_rule_versions_by_period') }} as r on r.evaluation_period = s.evaluation_period
    {%- if is_incremental() %}
    where {{ graded_rows('records', 's.evaluation_period', 's.uscc') }}
    {%- endif %}
),

indicators as (
    select scoped.*, c.dimension_code, c.indicator_code, c.weight, c.scoring_rule, c.points_per_item,
        c.no_data_share, c.window_months, c.grade_system
    from scoped
    inner join {{ ref('indicator_catalogue') }} as c
        on c.rule_version = scoped.rule_version and c.industry_code = scoped.industry_code
),

items as (
    select
        i.uscc,
        i.industry_code,
        i.evaluation_period,
        i.indicator_code,
        count(*) as item_count,
        sum(coalesce(sd.deduction_points, cp.points, i.points_per_item)) as item_points,
        string_agg(rec.source_record_id, ' ' order by rec.record_date, rec.batch_id, rec.row_number) as source_records
    from indicators as i
    inner join {{ ref('int_indicator_records_by_period') }} as rec
        on rec.uscc = i.uscc
        and rec.evaluation_period = i.evaluation_period
        and rec.indicator_source = i.indicator_code
        and rec.record_date > i.period_end_date - make_interval(months => i.window_months)
    left join {{ ref('severity_deductions') }} as sd
        on i.indicator_code = 'penalties' and sd.rule_version = i.rule_version and sd.severity = rec.item_key
    left join {{ ref('commendation_points') }} as cp
        on i.indicator_code = 'commendations' and cp.rule_version = i.rule_version
        and cp.commendation_level = rec.item_key
    where i.scoring_rule in ('deduct_per_item', 'add_per_item')
        and {{ graded_rows('records', 'rec.evaluation_period', 'rec.uscc') }}
    group by i.uscc, i.industry_code, i.evaluation_period, i.indicator_code
),

grades as (
    select i.uscc, i.industry_code, i.evaluation_period, i.indicator_code,
        coalesce(pe.province_grade, eg.grade) as grade_in_force,
        coalesce(pe.source_record_id, eg.source_record_id) as source_record_id
    from indicators as i
    left join {{ ref('int_province_evaluations_in_force') }} as pe
        on i.grade_system = 'province' and pe.uscc = i.uscc and pe.evaluation_period = i.evaluation_period
        and {{ graded_rows('records', 'pe.evaluation_period', 'pe.uscc') }}
    left join {{ ref('int_external_grades_in_force') }} as eg
        on i.grade_system <> 'province' and eg.uscc = i.uscc and eg.evaluation_period = i.evaluation_period
        and eg.grade_system = i.grade_system
        and {{ graded_rows('records', 'eg.evaluation_period', 'eg.uscc') }}
    where i.scoring_rule = 'grade_share'
)

select
    i.uscc,
    i.industry_code,
    i.department_code,
    i.evaluation_period,
    i.period_end_date,
    i.rule_version,
    i.dimension_code,
    i.indicator_code,
    i.scoring_rule,
    i.weight,
    coalesce(it.item_count, 0) as item_count,
    g.grade_in_force,
    coalesce(it.source_records, g.source_record_id, '') as source_records,
    round(case i.scoring_rule
        when 'grade_share' then i.weight * coalesce(gs.share, i.no_data_share)
        when 'deduct_per_item' then greatest(0, i.weight - coalesce(it.item_points, 0))
        when 'add_per_item' then least(i.weight, coalesce(it.item_points, 0))
    end, 2)::numeric(5, 2) as points
from indicators as i
left join items as it
    on it.uscc = i.uscc and it.industry_code = i.industry_code and it.evaluation_period = i.evaluation_period
    and it.indicator_code = i.indicator_code
left join grades as g
    on g.uscc = i.uscc and g.industry_code = i.industry_code and g.evaluation_period = i.evaluation_period
    and g.indicator_code = i.indicator_code
left join {{ ref('grade_shares') }} as gs
    on gs.rule_version = i.rule_version and gs.grade_system = i.grade_system and gs.grade = g.grade_in_force

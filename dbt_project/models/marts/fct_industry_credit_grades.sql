{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='fail',
    pre_hook="{{ graded_periods_pre_hook('grades') }}", post_hook="{{ graded_periods_post_hook('grades') }}",
    indexes=[{'columns': ['uscc']}]) }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- Indexed by subject: a subject's grades are looked up one by one (explanations, letters). Incremental
-- by period (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
-- Industry credit grades (行业信用评价结果): one row per subject, industry and evaluation period.
-- score = the sum of the points of the industry's indicators (int_indicator_points), in [0, 100],
-- before any veto. The grade follows the cut points of the rule version in force, then:
--   a subject without a province evaluation in force has insufficient data: at most B+;
--   an industry veto rule it triggered (int_veto_hits) caps its class: at most the top of that class;
--   a manual adjustment (the latest for the subject, industry and period) sets the grade; one that
--   names an objection (objection_id) is a correction after that objection;
--   being on the serious-dishonesty list within the period forces D, whatever the adjustment.
-- grade_basis and basis_reason say which of these decided the grade (kept in the grade history).
with totals as (
    select
        uscc,
        industry_code,
        department_code,
        evaluation_period,
        period_end_date,
        rule_version,
        least(100, greatest(0, sum(points)))::numeric(5, 2) as score,
        bool_or(indicator_code = 'province_evaluation' and grade_in_force is not null) as has_sufficient_data
    from {{ ref('int_indicator_points') }}
    {%- if is_incremental() %}
    where {{ graded_rows('grades', 'evaluation_period', 'uscc') }}
    {%- endif %}
    group by uscc, industry_code, department_code, evaluation_period, period_end_date, rule_version
),

vetoes as (
    select uscc, industry_code, evaluation_period, min(veto_rule_code) as veto_rule_code, max(cap_class) as cap_class
    from {{ ref('int_veto_hits') }}
    group by uscc, industry_code, evaluation_period
),

adjustments as (
    select distinct on (uscc, industry_code, evaluation_period)
        uscc, industry_code, evaluation_period, adjustment_id, adjusted_grade, objection_id,
        reason as adjustment_reason, approver, approval_date,
        {{ record_id("'grade_adjustments'", 'batch_id', 'row_number') }} as adjustment_record_id
    from {{ ref('stg_departments__grade_adjustments') }}
    where superseded_by_batch_id is null
    order by uscc, industry_code, evaluation_period, approval_date desc, batch_id desc, row_number desc
),

ranked as (
    select
        t.*,
        lvl.level_rank as score_rank,
        dl.uscc is not null as is_listed_dishonest,
        v.veto_rule_code as industry_veto_code,
        (select min(c.level_rank) from {{ ref('grade_levels') }} as c
            where c.rule_version = t.rule_version and c.grade_class = v.cap_class) as veto_cap_rank,
        (select c.level_rank from {{ ref('grade_levels') }} as c
            where c.rule_version = t.rule_version and c.grade = 'B+') as thin_data_cap_rank,
        a.adjustment_id,
        a.objection_id,
        a.adjustment_reason,
        a.approver,
        a.approval_date,
        a.adjustment_record_id,
        (select c.level_rank from {{ ref('grade_levels') }} as c
            where c.rule_version = t.rule_version and c.grade = a.adjusted_grade) as adjusted_rank,
        (select max(c.level_rank) from {{ ref('grade_levels') }} as c where c.rule_version = t.rule_version)
            as lowest_rank
    from totals as t
    inner join {{ ref('grade_levels') }} as lvl
        on lvl.rule_version = t.rule_version
        and t.score <= lvl.upper_bound
        and (t.score > lvl.lower_bound or (lvl.is_lower_inclusive and t.score >= lvl.lower_bound))
    left join {{ ref('int_serious_dishonesty_by_period') }} as dl
        on dl.evaluation_period = t.evaluation_period and dl.uscc = t.uscc
    left join vetoes as v
        on v.uscc = t.uscc and v.industry_code = t.industry_code and v.evaluation_period = t.evaluation_period
    left join adjustments as a
        on a.uscc = t.uscc and a.industry_code = t.industry_code and a.evaluation_period = t.evaluation_period
),

decided as (
    select
        ranked.*,
        case
            when is_listed_dishonest then lowest_rank
            when adjusted_rank is not null then adjusted_rank
            else greatest(
                score_rank,
                coalesce(veto_cap_rank, score_rank),
                case when has_sufficient_data then score_rank else thin_data_cap_rank end
            )
        end as final_rank
    from ranked
)

select
    d.uscc::text as uscc,
    d.industry_code::text as industry_code,
    d.evaluation_period::text as evaluation_period,
    d.period_end_date::date as period_end_date,
    d.score,
    lvl.grade::text as grade,
    lvl.grade_class::text as grade_class,
    (d.is_listed_dishonest or d.industry_veto_code is not null) as is_vetoed,
    (case when d.is_listed_dishonest then 'SERIOUS_DISHONESTY' else d.industry_veto_code end)::text
        as veto_rule_code,
    d.has_sufficient_data,
    d.rule_version::text as rule_version,
    d.department_code::text as department_code,
    d.adjustment_id::text as adjustment_id,
    d.adjustment_record_id::text as adjustment_record_id,
    (case
        when d.is_listed_dishonest then 'serious_dishonesty'
        when d.adjusted_rank is not null and d.objection_id is not null then 'objection_correction'
        when d.adjusted_rank is not null then 'adjusted'
        else 'computed'
    end)::text as grade_basis,
    (case
        when d.is_listed_dishonest then '列入严重失信主体名单 / on the serious-dishonesty list within the period'
        when d.adjusted_rank is not null then
            (case when d.objection_id is not null then '异议 ' || d.objection_id || ' 更正 / corrected after objection '
                || d.objection_id || ': ' else '人工调整 / adjusted: ' end)
            || coalesce(d.adjustment_reason, '') || ' (' || coalesce(d.approver, '?') || ', '
            || coalesce(d.approval_date::text, '?') || ')'
        else '按规则版本 ' || d.rule_version || ' 计算 / computed under rule version ' || d.rule_version
    end)::text as basis_reason
from decided as d
inner join {{ ref('grade_levels') }} as lvl on lvl.rule_version = d.rule_version and lvl.level_rank = d.final_rank

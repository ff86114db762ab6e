{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='fail',
    pre_hook="{{ graded_periods_pre_hook('grades') }}", post_hook="{{ graded_periods_post_hook('grades') }}",
    indexes=[{'columns': ['uscc', 'industry_code', 'evaluation_period']}]) }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- Why each grade is what it is: one row per subject, industry, period and indicator with its
-- points, plus one row (zero points) for each veto, cap or manual adjustment that bears on the
-- grade, with its rule code. source_record_ids name the raw rows behind each line as
-- 'raw.<table>/<batch_id>/<row_number>' (each resolves to its row and its load batch). The points
-- of a grade's lines sum to its score. Indexed by subject, industry and period: an explanation
-- (credit-platform explain, the explanation letters) reads one grade's lines. Incremental by period
-- (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
with grades as (
    select * from {{ ref('fct_industry_credit_grades') }}
    {%- if is_incremental() %}
    where {{ graded_rows('grades', 'evaluation_period', 'uscc') }}
    {%- endif %}
),

catalogue as (
    select rule_version, industry_code, indicator_code, indicator_name, dimension_name
    from {{ ref('indicator_catalogue') }}
),

indicator_lines as (
    select
        p.uscc,
        p.industry_code,
        p.evaluation_period,
        p.rule_version,
        'indicator' as line_kind,
        p.dimension_code,
        p.indicator_code,
        p.scoring_rule as rule_code,
        p.weight::numeric(5, 2) as weight,
        p.item_count::integer as item_count,
        p.grade_in_force,
        p.points,
        c.dimension_name || ' / ' || c.indicator_name || ': ' || case p.scoring_rule
            when 'grade_share' then
                coalesce('等级 ' || p.grade_in_force, '无评价结果（按无数据比例计）')
                || ' / grade ' || coalesce(p.grade_in_force, 'none (no-data share)')
            when 'deduct_per_item' then
                p.item_count || ' 条记录，扣 ' || (p.weight - p.points)::numeric(5, 2) || ' 分 / '
                || p.item_count || ' record(s), ' || (p.weight - p.points)::numeric(5, 2) || ' points deducted'
            else
                p.item_count || ' 条记录，加 ' || p.points || ' 分 / '
                || p.item_count || ' record(s), ' || p.points || ' points added'
        end as detail,
        string_to_array(nullif(p.source_records, ''), ' ') as source_record_ids
    from {{ ref('int_indicator_points') }} as p
    left join catalogue as c
        on c.rule_version = p.rule_version and c.industry_code = p.industry_code
        and c.indicator_code = p.indicator_code
    {%- if is_incremental() %}
    where {{ graded_rows('grades', 'p.evaluation_period', 'p.uscc') }}
    {%- endif %}
),

veto_lines as (
    select
        v.uscc,
        v.industry_code,
        v.evaluation_period,
        g.rule_version,
        'veto' as line_kind,
        v.veto_rule_code as rule_code,
        (select min(r.description) from {{ ref('veto_rules') }} as r
            where r.rule_version = g.rule_version and r.veto_rule_code = v.veto_rule_code) as detail,
        string_to_array(v.source_records, ' ') as source_record_ids
    from {{ ref('int_veto_hits') }} as v
    inner join grades as g
        on g.uscc = v.uscc and g.industry_code = v.industry_code and g.evaluation_period = v.evaluation_period

    union all

    select
        g.uscc,
        g.industry_code,
        g.evaluation_period,
        g.rule_version,
        'veto',
        'SERIOUS_DISHONESTY',
        '评价期内列入严重失信主体名单，等级为 D / on the serious-dishonesty list within the period: D',
        string_to_array(d.source_records, ' ')
    from grades as g
    inner join {{ ref('int_serious_dishonesty_by_period') }} as d
        on d.uscc = g.uscc and d.evaluation_period = g.evaluation_period

    union all

    select
        g.uscc,
        g.industry_code,
        g.evaluation_period,
        g.rule_version,
        'cap',
        'INSUFFICIENT_DATA',
        '无省公共信用综合评价，数据不足，等级不高于 B+ / no province evaluation in force: insufficient data, at most B+',
        array[]::text[]
    from grades as g
    where not g.has_sufficient_data

    union all

    select
        g.uscc,
        g.industry_code,
        g.evaluation_period,
        g.rule_version,
        'adjustment',
        case g.grade_basis when 'objection_correction' then 'OBJECTION_CORRECTION' else 'MANUAL_ADJUSTMENT' end,
        g.basis_reason || ' -> ' || g.grade,
        array[g.adjustment_record_id]
    from grades as g
    where g.adjustment_record_id is not null
),

lines as (
    select
        uscc, industry_code, evaluation_period, rule_version, line_kind, dimension_code, indicator_code,
        rule_code, weight, item_count, grade_in_force, points, detail, source_record_ids
    from indicator_lines

    union all

    select
        uscc, industry_code, evaluation_period, rule_version, line_kind, null, null,
        rule_code, null, null, null, 0.00, detail, source_record_ids
    from veto_lines
)

select
    lines.uscc::text as uscc,
    lines.industry_code::text as industry_code,
    lines.evaluation_period::text as evaluation_period,
    (row_number() over (
        partition by lines.uscc, lines.industry_code, lines.evaluation_period
        order by
            case lines.line_kind when 'indicator' then 1 when 'veto' then 2 when 'cap' then 3 else 4 end,
            lines.dimension_code, lines.indicator_code, lines.rule_code
    ))::integer as line_number,
    lines.line_kind::text as line_kind,
    lines.dimension_code::text as dimension_code,
    lines.indicator_code::text as indicator_code,
    lines.rule_code::text as rule_code,
    lines.weight::numeric(5, 2) as weight,
    lines.item_count::integer as item_count,
    lines.grade_in_force::text as grade_in_force,
    lines.points::numeric(5, 2) as points,
    lines.detail::text as detail,
    coalesce(lines.source_record_ids, array[]::text[])::text[] as source_record_ids,
    lines.rule_version::text as rule_version
from lines

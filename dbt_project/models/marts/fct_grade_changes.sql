-- The subjects that moved between classes from one period to the next of their industry's cycle:
-- one row per subject, industry and pair of consecutive periods where the class differs, with the
-- indicators whose points moved (largest first, signed) and the vetoes, caps and adjustments that
-- appeared or went away.
with periods as (
    select
        evaluation_period,
        lag(evaluation_period) over (partition by evaluation_cycle order by period_end_date) as previous_period
    from {{ ref('evaluation_periods') }}
),

moves as (
    select
        cur.uscc,
        cur.industry_code,
        p.previous_period as from_period,
        cur.evaluation_period as to_period,
        prev.grade as from_grade,
        cur.grade as to_grade,
        prev.grade_class as from_class,
        cur.grade_class as to_class,
        prev.score as from_score,
        cur.score as to_score
    from {{ ref('fct_industry_credit_grades') }} as cur
    inner join periods as p on p.evaluation_period = cur.evaluation_period
    inner join {{ ref('fct_industry_credit_grades') }} as prev
        on prev.uscc = cur.uscc and prev.industry_code = cur.industry_code
        and prev.evaluation_period = p.previous_period
    where prev.grade_class <> cur.grade_class
),

lines as (
    select m.uscc, m.industry_code, m.to_period, e.line_kind, coalesce(e.indicator_code, e.rule_code) as code,
        case when e.evaluation_period = m.to_period then e.points else -e.points end as signed_points,
        case when e.evaluation_period = m.to_period then 1 else -1 end as side
    from moves as m
    inner join {{ ref('fct_grade_explanations') }} as e
        on e.uscc = m.uscc and e.industry_code = m.industry_code
        and e.evaluation_period in (m.from_period, m.to_period)
),

indicator_deltas as (
    select uscc, industry_code, to_period, code, sum(signed_points) as delta
    from lines
    where line_kind = 'indicator'
    group by uscc, industry_code, to_period, code
    having sum(signed_points) <> 0
),

rule_changes as (
    select uscc, industry_code, to_period, code, sum(side) as presence
    from lines
    where line_kind <> 'indicator'
    group by uscc, industry_code, to_period, code
    having sum(side) <> 0
)

select
    m.uscc::text as uscc,
    m.industry_code::text as industry_code,
    m.from_period::text as from_period,
    m.to_period::text as to_period,
    m.from_grade::text as from_grade,
    m.to_grade::text as to_grade,
    m.from_class::text as from_class,
    m.to_class::text as to_class,
    m.from_score::numeric(5, 2) as from_score,
    m.to_score::numeric(5, 2) as to_score,
    (case when m.to_class < m.from_class then 'up' else 'down' end)::text as direction,
    coalesce((
        select array_agg(d.code || ' ' || case when d.delta > 0 then '+' else '' end || d.delta::numeric(6, 2)
            order by abs(d.delta) desc, d.code)
        from indicator_deltas as d
        where d.uscc = m.uscc and d.industry_code = m.industry_code and d.to_period = m.to_period
    ), array[]::text[])::text[] as moved_by_indicators,
    coalesce((
        select array_agg(case when r.presence > 0 then '+' else '-' end || r.code order by r.code)
        from rule_changes as r
        where r.uscc = m.uscc and r.industry_code = m.industry_code and r.to_period = m.to_period
    ), array[]::text[])::text[] as rule_changes
from moves as m

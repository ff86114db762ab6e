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
),

-- One list per move, each built once by grouping (a correlated subquery per move re-read the whole
-- CTE for every move: quadratic in the number of moves).
indicator_lists as (
    select uscc, industry_code, to_period,
        array_agg(code || ' ' || case when delta > 0 then '+' else '' end || delta::numeric(6, 2)
            order by abs(delta) desc, code) as moved
    from indicator_deltas
    group by uscc, industry_code, to_period
),

rule_lists as (
    select uscc, industry_code, to_period,
        array_agg(case when presence > 0 then '+' else '-' end || code order by code) as changes
    from rule_changes
    group by uscc, industry_code, to_period
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
    coalesce(il.moved, array[]::text[])::text[] as moved_by_indicators,
    coalesce(rl.changes, array[]::text[])::text[] as rule_changes
from moves as m
left join indicator_lists as il
    on il.uscc = m.uscc and il.industry_code = m.industry_code and il.to_period = m.to_period
left join rule_lists as rl
    on rl.uscc = m.uscc and rl.industry_code = m.industry_code and rl.to_period = m.to_period

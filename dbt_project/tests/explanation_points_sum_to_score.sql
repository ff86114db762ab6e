-- The points of a grade's explanation lines sum to its score, and every grade is explained.
select g.uscc, g.industry_code, g.evaluation_period, g.score, e.points
from {{ ref('fct_industry_credit_grades') }} as g
left join (
    select uscc, industry_code, evaluation_period, sum(points) as points
    from {{ ref('fct_grade_explanations') }}
    group by uscc, industry_code, evaluation_period
) as e using (uscc, industry_code, evaluation_period)
where e.points is distinct from g.score

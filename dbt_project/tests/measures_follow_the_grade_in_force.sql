{#
  Every grade in force brings its class's measures: each subject's current grade of its latest
  graded period (marts.fct_industry_credit_grades) has at least one measure of that class in
  marts.fct_subject_measures, still running (not ended early). Returns the grades without.
#}
with latest as (
    select g.uscc, g.industry_code, g.evaluation_period, g.grade_class,
        row_number() over (partition by g.uscc, g.industry_code order by p.period_end_date desc) as recency
    from {{ ref('fct_industry_credit_grades') }} g
    join {{ ref('dim_evaluation_periods') }} p on p.evaluation_period = g.evaluation_period
)
select l.uscc, l.industry_code, l.evaluation_period, l.grade_class
from latest l
where l.recency = 1 and l.grade_class is not null and not exists (
    select 1 from {{ ref('fct_subject_measures') }} m
    where m.uscc = l.uscc and m.industry_code = l.industry_code and m.evaluation_period = l.evaluation_period
      and m.grade_class = l.grade_class and m.ended_on is null
)

{#
  No incentive (守信激励) for a subject graded in the two lower classes (C and D in the seed
  grade_levels, by their best level rank): incentives are for good credit only. Returns the
  offending measures.
#}
with class_order as (
    select grade_class, dense_rank() over (order by min(level_rank)) as class_rank
    from {{ ref('grade_levels') }}
    group by grade_class
)
select m.measure_list_version, m.industry_code, m.grade_class, m.measure_code, m.measure_name
from {{ ref('supervision_measures') }} m
join class_order c on c.grade_class = m.grade_class
where m.measure_kind = 'incentive' and c.class_rank > 2

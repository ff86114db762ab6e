-- Each department's draw policy covers the four classes, with ratios in (0, 1] strictly rising
-- from A to D, minimum counts not negative and yearly caps of at least one. Returns the offenders.
with policy as (
    select
        department_code,
        count(*) as classes,
        bool_and(sampling_ratio > 0 and sampling_ratio <= 1) as ratios_in_range,
        bool_and(min_count >= 0 and max_per_year >= 1) as counts_valid,
        max(sampling_ratio) filter (where grade_class = 'A') as a,
        max(sampling_ratio) filter (where grade_class = 'B') as b,
        max(sampling_ratio) filter (where grade_class = 'C') as c,
        max(sampling_ratio) filter (where grade_class = 'D') as d
    from {{ ref('inspection_ratios') }}
    group by department_code
)
select * from policy
where classes <> 4 or not ratios_in_range or not counts_valid or not (a < b and b < c and c < d)

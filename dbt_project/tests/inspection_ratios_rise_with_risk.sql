-- Each department's draw policy covers every grade class of seed grade_levels, with ratios in
-- (0, 1] strictly rising from the best class to the worst (A to D), minimum counts not negative
-- and yearly caps of at least one. Returns the offending departments.
with classes as (
    select grade_class, min(level_rank) as class_rank
    from {{ ref('grade_levels') }}
    group by grade_class
),

ratios as (
    select
        r.department_code,
        r.sampling_ratio,
        r.min_count,
        r.max_per_year,
        c.class_rank,
        lag(r.sampling_ratio) over (partition by r.department_code order by c.class_rank) as better_class_ratio
    from {{ ref('inspection_ratios') }} as r
    left join classes as c on c.grade_class = r.grade_class
),

policy as (
    select
        department_code,
        count(*) as classes,
        bool_and(class_rank is not null) as classes_known,
        bool_and(sampling_ratio > 0 and sampling_ratio <= 1) as ratios_in_range,
        bool_and(min_count >= 0 and max_per_year >= 1) as counts_valid,
        bool_and(better_class_ratio is null or better_class_ratio < sampling_ratio) as ratios_rise
    from ratios
    group by department_code
)

select * from policy
where classes <> (select count(*) from classes)
    or not classes_known or not ratios_in_range or not counts_valid or not ratios_rise

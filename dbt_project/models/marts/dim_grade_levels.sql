-- The cut points of each rule version: one row per rule version and grade (seed grade_levels), for
-- the marts quality checkpoint and for analysts.
select
    rule_version::text as rule_version,
    grade::text as grade,
    grade_class::text as grade_class,
    lower_bound::numeric(5, 2) as lower_bound,
    upper_bound::numeric(5, 2) as upper_bound,
    is_lower_inclusive::boolean as is_lower_inclusive,
    level_rank::integer as level_rank
from {{ ref('grade_levels') }}

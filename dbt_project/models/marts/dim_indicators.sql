-- Each industry's indicator system per rule version (seed indicator_catalogue), as a subject is
-- told it (the commitment letters): one row per rule version, industry and indicator, with its
-- dimension, weight and direction and the reasoning in the city's words.
select
    rule_version::text as rule_version,
    industry_code::text as industry_code,
    dimension_code::text as dimension_code,
    dimension_name::text as dimension_name,
    indicator_code::text as indicator_code,
    indicator_name::text as indicator_name,
    weight::numeric(6, 2) as weight,
    direction::text as direction,
    reasoning::text as reasoning
from {{ ref('indicator_catalogue') }}

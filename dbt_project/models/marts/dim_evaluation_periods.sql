-- The evaluation periods (seed evaluation_periods): one row per period, for analysts and for
-- close-period and regrade, which check a period against them.
select
    evaluation_period::text as evaluation_period,
    period_start_date::date as period_start_date,
    period_end_date::date as period_end_date,
    evaluation_cycle::text as evaluation_cycle
from {{ ref('evaluation_periods') }}

-- Subjects on the serious-dishonesty list at any time within each period (评价期内).
select distinct
    p.evaluation_period,
    l.uscc
from {{ ref('stg_departments__serious_dishonesty_list') }} as l
inner join {{ ref('evaluation_periods') }} as p
    on l.listed_date <= p.period_end_date
    and (l.removed_date is null or l.removed_date >= p.period_start_date)

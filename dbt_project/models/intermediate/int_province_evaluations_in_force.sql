-- The province evaluation in force at each period's end: the latest one dated on or before it
-- (a later push supersedes an earlier one from its evaluation date on).
select distinct on (p.evaluation_period, e.uscc)
    p.evaluation_period,
    e.uscc,
    e.province_grade,
    e.province_score,
    e.evaluation_date
from {{ ref('stg_province__evaluations') }} as e
inner join {{ ref('evaluation_periods') }} as p on e.evaluation_date <= p.period_end_date
order by p.evaluation_period, e.uscc, e.evaluation_date desc, e.batch_id desc, e.row_number desc

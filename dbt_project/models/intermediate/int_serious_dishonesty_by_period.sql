-- Subjects on the serious-dishonesty list at any time within each period (评价期内), with the list
-- entries that put them there (source_records: their ids, separated by spaces). For a closed period only entries loaded before its cutoff count.
select
    p.evaluation_period,
    l.uscc,
    string_agg({{ record_id("'serious_dishonesty_list'", 'l.batch_id', 'l.row_number') }}, ' '
        order by l.batch_id, l.row_number) as source_records
from {{ ref('stg_departments__serious_dishonesty_list') }} as l
inner join {{ ref('evaluation_periods') }} as p
    on l.listed_date <= p.period_end_date
    and (l.removed_date is null or l.removed_date >= p.period_start_date)
where {{ arrived_in_time('l.batch_id', 'p.evaluation_period', 'l.superseded_by_batch_id') }}
group by p.evaluation_period, l.uscc

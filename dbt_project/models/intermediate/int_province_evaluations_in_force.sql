{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ graded_periods_pre_hook('records') }}", post_hook="{{ graded_periods_post_hook('records') }}") }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- The province evaluation in force at each period's end: the latest one dated on or before it
-- (a later push supersedes an earlier one from its evaluation date on). For a closed period only
-- pushes loaded before its cutoff count.
-- Incremental by period (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
select distinct on (p.evaluation_period, e.uscc)
    p.evaluation_period,
    e.uscc,
    e.province_grade,
    e.province_score,
    e.evaluation_date,
    {{ record_id("'province_evaluations'", 'e.batch_id', 'e.row_number') }} as source_record_id
from {{ ref('stg_province__evaluations') }} as e
inner join {{ ref('evaluation_periods') }} as p on e.evaluation_date <= p.period_end_date
where {{ arrived_in_time('e.batch_id', 'p.evaluation_period', 'e.superseded_by_batch_id') }}
    {%- if is_incremental() %}
    and {{ graded_rows('records', 'p.evaluation_period', 'e.uscc') }}
    {%- endif %}
order by p.evaluation_period, e.uscc, e.evaluation_date desc, e.batch_id desc, e.row_number desc

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ graded_periods_pre_hook('records') }}", post_hook="{{ graded_periods_post_hook('records') }}") }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- Incremental by period (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
-- The records that still count at each period's end: one row per record and evaluation period.
-- A record counts when it is dated on or before the period's end, has not stopped counting by then
-- (publication period or validity over) and was not repaired on or before the end; for a closed
-- period only records (and repair decisions) loaded before its cutoff count. Each indicator then
-- keeps those within its own window (int_indicator_points).
select
    p.evaluation_period,
    p.period_end_date,
    rec.uscc,
    rec.indicator_source,
    rec.record_date,
    rec.item_key,
    rec.record_text,
    rec.raw_table,
    rec.batch_id,
    rec.row_number,
    {{ record_id('rec.raw_table', 'rec.batch_id', 'rec.row_number') }} as source_record_id
from {{ ref('int_indicator_records') }} as rec
inner join {{ ref('evaluation_periods') }} as p on rec.record_date <= p.period_end_date
{%- if is_incremental() %}
    and {{ graded_rows('records', 'p.evaluation_period', 'rec.uscc') }}
{%- endif %}
where (rec.counts_until is null or p.period_end_date < rec.counts_until)
    and (
        rec.repaired_date is null
        or p.period_end_date < rec.repaired_date
        or not {{ arrived_in_time('rec.repair_batch_id', 'p.evaluation_period') }}
    )
    and {{ arrived_in_time('rec.batch_id', 'p.evaluation_period', 'rec.superseded_by_batch_id') }}

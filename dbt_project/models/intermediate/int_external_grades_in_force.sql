{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ graded_periods_pre_hook('records') }}", post_hook="{{ graded_periods_post_hook('records') }}") }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- The external grade in force per subject, grade system and period: the latest dated on or before
-- the period's end (tax, highway construction, environmental credit; each on its own scale). For a
-- closed period only rows loaded before its cutoff count.
-- Incremental by period (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
select distinct on (p.evaluation_period, g.uscc, g.grade_system)
    p.evaluation_period,
    g.uscc,
    g.grade_system,
    g.grade,
    g.evaluation_date,
    {{ record_id("'external_grades'", 'g.batch_id', 'g.row_number') }} as source_record_id
from {{ ref('stg_departments__external_grades') }} as g
inner join {{ ref('evaluation_periods') }} as p on g.evaluation_date <= p.period_end_date
where {{ arrived_in_time('g.batch_id', 'p.evaluation_period', 'g.superseded_by_batch_id') }}
    {%- if is_incremental() %}
    and {{ graded_rows('records', 'p.evaluation_period', 'g.uscc') }}
    {%- endif %}
order by p.evaluation_period, g.uscc, g.grade_system, g.evaluation_date desc, g.batch_id desc, g.row_number desc

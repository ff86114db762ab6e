-- Records that arrived after a period closed: one row per closed period and raw row dated on or
-- before the period's end but loaded (in its batch) after the period's cutoff. They do not count
-- in that period's grades; they count in the open periods from the next run. A logged re-grading
-- of the period (credit-platform regrade) includes them. Dated records only: penalties,
-- commendations, commitments, inspection results, complaints, licences, province evaluations,
-- external grades, serious-dishonesty list entries and credit repairs.
with dated as (
    select uscc, raw_table, batch_id, row_number, record_date from {{ ref('int_indicator_records') }}
    where superseded_by_batch_id is null
    union all
    select uscc, 'province_evaluations', batch_id, row_number, evaluation_date
    from {{ ref('stg_province__evaluations') }}
    where superseded_by_batch_id is null
    union all
    select uscc, 'external_grades', batch_id, row_number, evaluation_date
    from {{ ref('stg_departments__external_grades') }}
    where superseded_by_batch_id is null
    union all
    select uscc, 'serious_dishonesty_list', batch_id, row_number, listed_date
    from {{ ref('stg_departments__serious_dishonesty_list') }}
    where superseded_by_batch_id is null
    union all
    select uscc, 'credit_repairs', batch_id, row_number, repair_date
    from {{ ref('stg_departments__credit_repairs') }}
    where superseded_by_batch_id is null
)

select
    late.evaluation_period::text as evaluation_period,
    late.cutoff_at::timestamptz as cutoff_at,
    dated.uscc::text as uscc,
    dated.raw_table::text as raw_table,
    dated.batch_id::bigint as batch_id,
    dated.row_number::integer as row_number,
    {{ record_id('dated.raw_table', 'dated.batch_id', 'dated.row_number') }}::text as source_record_id,
    dated.record_date::date as record_date,
    late.source_file::text as source_file,
    late.loaded_at::timestamptz as loaded_at
from {{ ref('int_batches_arrived_late') }} as late
inner join dated on dated.batch_id = late.batch_id
inner join {{ ref('evaluation_periods') }} as p on p.evaluation_period = late.evaluation_period
where dated.record_date <= p.period_end_date

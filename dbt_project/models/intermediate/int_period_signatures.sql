{{ config(post_hook="{{ create_built_periods() }}") }}
-- What each evaluation period's grades are computed from, as one md5 per period (macro file
-- graded_periods.sql): null for an open period, which is computed again on every run; for a closed
-- period, the md5 of the project's code and seeds, the closing or latest re-grading (cutoff, rule
-- version and its fingerprint, when it was recorded) and the load batches that count for it (those
-- loaded before the cutoff, as macro arrived_in_time decides). grades_signature adds the period's
-- manual adjustments (current versions), which apply to a closed period whenever they are loaded.
-- An incremental grading model computes a closed period again only when its signature changed.
-- For an open period, open_signature (the md5 of the project's code and seeds) and batch_ids (every
-- batch the raw quality gate passed, all of which count for it, separated by commas): a model built from the same
-- open_signature, whose batches all still count, computes the period again only for the subjects
-- the batches since then touch (int_open_period_changes).
with counted_batches as (
    select c.evaluation_period, string_agg(b.batch_id::text, ',' order by b.batch_id) as batch_ids
    from {{ ref('int_period_cutoffs') }} as c
    inner join {{ ref('stg_ops__load_batches') }} as b on not coalesce(b.loaded_at > c.cutoff_at, false)
    group by c.evaluation_period
),

adjustments as (
    select evaluation_period,
        string_agg(batch_id::text || '/' || row_number::text, ',' order by batch_id, row_number) as adjustment_rows
    from {{ ref('stg_departments__grade_adjustments') }}
    where superseded_by_batch_id is null
    group by evaluation_period
),

all_batches as (
    select string_agg(batch_id::text, ',' order by batch_id) as batch_ids from {{ ref('stg_ops__load_batches') }}
),

closed as (
    select
        c.evaluation_period,
        md5(concat_ws('|', '{{ project_code_signature() }}', c.cutoff_at::text, c.rule_version, c.rule_fingerprint,
            c.last_action, c.last_recorded_at::text, coalesce(cb.batch_ids, ''))) as records_signature
    from {{ ref('int_period_cutoffs') }} as c
    left join counted_batches as cb on cb.evaluation_period = c.evaluation_period
)

select
    p.evaluation_period::text as evaluation_period,
    (c.evaluation_period is not null) as is_closed,
    c.records_signature,
    case when c.evaluation_period is not null
        then md5(c.records_signature || '|' || coalesce(a.adjustment_rows, '')) end as grades_signature,
    case when c.evaluation_period is null then md5('{{ project_code_signature() }}' || '|open') end as open_signature,
    case when c.evaluation_period is null then coalesce(ab.batch_ids, '') end as batch_ids
from {{ ref('evaluation_periods') }} as p
cross join all_batches as ab
left join closed as c on c.evaluation_period = p.evaluation_period
left join adjustments as a on a.evaluation_period = p.evaluation_period

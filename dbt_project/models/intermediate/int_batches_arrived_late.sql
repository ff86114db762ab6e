-- The load batches that arrived after a period closed: one row per closed period and batch loaded
-- after its cutoff. Their rows do not count for that period (they count in open periods); a
-- logged re-grading (credit-platform regrade) moves the cutoff to include them.
select
    c.evaluation_period,
    b.batch_id,
    b.source,
    b.source_file,
    b.loaded_at,
    c.cutoff_at
from {{ ref('int_period_cutoffs') }} as c
inner join {{ ref('stg_ops__load_batches') }} as b on b.loaded_at > c.cutoff_at

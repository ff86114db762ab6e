{#
  True when a row of load batch `batch_id` may count for `evaluation_period`: the period is open,
  or the batch was loaded before the period's cutoff (int_batches_arrived_late lists the others).
  With `superseded_by_batch_id` (a staging row's column: the batch of the record's next version,
  null for the current one), an earlier version counts only where its successor arrived late: the
  closed periods whose cutoff fell between the two loads keep the version they were graded with;
  open periods count the current version only.
#}
{% macro arrived_in_time(batch_id, evaluation_period, superseded_by_batch_id=none) -%}
    not exists (
        select 1 from {{ ref('int_batches_arrived_late') }} as late
        where late.evaluation_period = {{ evaluation_period }} and late.batch_id = {{ batch_id }}
    )
    {%- if superseded_by_batch_id is not none %}
    and ({{ superseded_by_batch_id }} is null or exists (
        select 1 from {{ ref('int_batches_arrived_late') }} as successor_late
        where successor_late.evaluation_period = {{ evaluation_period }}
            and successor_late.batch_id = {{ superseded_by_batch_id }}
    ))
    {%- endif %}
{%- endmacro %}

{#
  The id of a raw row, as the explanations give it: 'raw.<table>/<batch_id>/<row_number>'. It
  resolves to the row (raw.<table> where batch_id and row_number match) and to its load batch
  (ops.load_batches.batch_id).
#}
{% macro record_id(raw_table, batch_id, row_number) -%}
    ('raw.' || {{ raw_table }} || '/' || {{ batch_id }}::text || '/' || {{ row_number }}::text)
{%- endmacro %}

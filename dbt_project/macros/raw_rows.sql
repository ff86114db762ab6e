{#
  The rows of a raw table that may feed grading: those of the load batches the raw quality gate
  passed (ops.load_batches.status = 'loaded'). A batch still 'landed' (loaded, not yet gated: its
  load stopped before the gate decided, or the gate could not run) or 'quarantined' (failed the
  gate) keeps its rows in raw, for inspection, and staging leaves them out. Written as a semi-join
  (EXISTS), which the planner estimates from the batch table's statistics; IN would be guessed
  and mislead the plans of every model downstream.
#}
{% macro raw_rows(table) -%}
    (
        select * from {{ source('raw', table) }} as rows_in
        where exists (
            select 1 from {{ source('ops', 'load_batches') }} as passed
            where passed.batch_id = rows_in.batch_id and passed.status = 'loaded'
        )
    ) as {{ table }}
{%- endmacro %}

{#
  The rows of a raw table that may feed grading: those of every load batch except the quarantined
  ones (ops.load_batches.status = 'quarantined', set by the raw quality gate). A quarantined
  batch's rows stay in raw, for inspection, and staging leaves them out. Written as an anti-join
  (NOT EXISTS), which the planner estimates from the batch table's statistics; NOT IN would be
  guessed to keep half of the rows and mislead the plans of every model downstream.
#}
{% macro raw_rows(table) -%}
    (
        select * from {{ source('raw', table) }} as rows_in
        where not exists (
            select 1 from {{ source('ops', 'load_batches') }} as quarantined
            where quarantined.batch_id = rows_in.batch_id and quarantined.status = 'quarantined'
        )
    ) as {{ table }}
{%- endmacro %}

{#
  The rows of a raw table that may feed grading: those of every load batch except the quarantined
  ones (ops.load_batches.status = 'quarantined', set by the raw quality gate). A quarantined
  batch's rows stay in raw, for inspection, and staging leaves them out.
#}
{% macro raw_rows(table) -%}
    (
        select * from {{ source('raw', table) }}
        where batch_id not in (
            select batch_id from {{ source('ops', 'load_batches') }} where status = 'quarantined'
        )
    ) as {{ table }}
{%- endmacro %}

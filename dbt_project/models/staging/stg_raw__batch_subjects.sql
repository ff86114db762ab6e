-- The subjects each load batch names: one row per raw row of the tables grading counts
-- (macro graded_raw_tables), with its subject (uscc as the loader normalised it) and, for a table
-- whose business key does not include the subject (a penalty's decision number, say), the key cells
-- as staging compares them. int_open_period_changes reads it for a few batches only: a filter on
-- batch_id reaches each raw table's primary key (batch_id, row_number), and a filter on raw_table
-- leaves out the other tables. Every row of every batch, whatever its gate status: the batches a
-- reader asks for are its own choice.
{% for table in graded_raw_tables() %}
{%- set keyed_by_subject = 'uscc' in var('record_keys')[table] %}
select
    '{{ table }}'::text as raw_table,
    batch_id::bigint as batch_id,
    uscc::text as uscc,
    {% if keyed_by_subject %}null::text[]{% else %}array[{{ record_key_cells(table) | join(', ') }}]::text[]{% endif %}
        as record_key
from {{ source('raw', table) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}

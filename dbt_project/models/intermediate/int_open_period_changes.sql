-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('stg_raw__batch_subjects') }}
-- The subjects whose grades in an open period the batches loaded since it was last built may change:
-- one row per subject (macro file graded_periods.sql, "open periods in part"). The new batches are
-- those that count for an open period (int_period_signatures.batch_ids) but are missing from what a
-- model graded by period counted when it last built that period (intermediate.int_built_periods,
-- same open_signature). A subject is touched when a raw row of a new batch names it (any table
-- grading counts, macro graded_raw_tables), or, for a table whose business key does not include the
-- subject (penalties, licences, complaints, manual adjustments), when an earlier row with the key of
-- a new row names it: a correction that moves a record to another subject touches both. The new
-- batches are looked up when the model runs and written into its query, so that each raw table is
-- read through its primary key (batch_id, row_number); the key lookups read those four tables once.
{%- set new_batches = [] %}
{%- if execute %}
    {%- set built = adapter.get_relation(database=this.database, schema=built_periods_relation().schema,
                                         identifier='int_built_periods') %}
    {%- if built is not none %}
        {%- set found = run_query(
            "select distinct cur.batch_id from " ~ ref('int_period_signatures') ~ " as s"
            ~ " inner join " ~ built ~ " as b on b.evaluation_period = s.evaluation_period"
            ~ " and b.signature = s.open_signature"
            ~ " cross join lateral unnest(string_to_array(s.batch_ids, ',')::bigint[]) as cur(batch_id)"
            ~ " where not s.is_closed and b.batch_ids is not null and not (cur.batch_id = any(b.batch_ids))"
            ~ " order by 1") %}
        {%- for row in found.rows %}{% do new_batches.append(row[0] | int) %}{% endfor %}
    {%- endif %}
{%- endif %}
{%- set by_key = [] %}
{%- for table in graded_raw_tables() if 'uscc' not in var('record_keys')[table] %}{% do by_key.append(table) %}{% endfor %}
{%- if new_batches %}
with new_rows as (
    select raw_table, uscc, record_key
    from {{ ref('stg_raw__batch_subjects') }}
    where batch_id = any('{{ '{' ~ (new_batches | join(',')) ~ '}' }}'::bigint[])
),

touched as (
    select uscc from new_rows
    {%- for table in by_key %}
    union all
    select earlier.uscc
    from {{ ref('stg_raw__batch_subjects') }} as earlier
    where earlier.raw_table = '{{ table }}'
        and earlier.record_key in (select n.record_key from new_rows as n where n.raw_table = '{{ table }}')
    {%- endfor %}
)

select distinct uscc::text as uscc from touched where uscc is not null
{%- else %}
select null::text as uscc where false
{%- endif %}

{#
  Records are deduplicated on their business key: the same record delivered in several files (a
  department's re-export with other line endings, another file name, its columns in another order)
  counts once, and a changed record supersedes the older one.

  The key of each raw table is the dbt variable `record_keys` (dbt_project.yml), the same lists as
  the `key:` entries of plugins/credit_platform/ingest/sources.yml
  (tests/unit/test_record_keys_match_sources.py keeps them equal). Key cells are compared as the
  loader compares codes (ops.to_code: NFKC, trimmed, empty as none); a column named *_date as a
  date (ops.to_date), so 2025/6/30 and 2025-06-30 are one key.

  A row with an empty key cell is a record of its own: it is never collapsed with another (an
  unnumbered penalty is not the same penalty as another unnumbered one).

  Versions: per key, in load order (batch_id, then row_number), a version starts at a row whose
  content differs from the row loaded before it; the last version carries the record's current
  content. The row kept for a version is its first delivery, so a re-export of unchanged rows keeps
  pointing at the file that first brought them (explanations and closed periods do not move),
  while a changed row replaces the old one from its own batch on. Repeated deliveries stay in raw;
  `record_versions` gives every row (the staging model stg_raw__record_versions lists them).

  A changed record loaded after a period was closed: staging keeps the earlier version too, with
  superseded_by_batch_id (the batch of the next version). arrived_in_time(batch_id, period,
  superseded_by_batch_id) counts it only where its own batch was in time and its successor late,
  so the closed period keeps the version current at its cutoff and open periods the current one.

  One sort per table: every window below is partitioned by the key and ordered by the load
  order, so the planner sorts the raw rows once by (key, batch_id, row_number); no correlated
  subqueries.
#}
{% macro record_key_cells(table) -%}
    {%- set keys = var('record_keys') -%}
    {%- if table not in keys -%}
        {{ exceptions.raise_compiler_error("dbt var record_keys has no key for raw." ~ table ~ " (see sources.yml key:)") }}
    {%- endif -%}
    {%- set cells = [] -%}
    {%- for column in keys[table] -%}
        {%- if column.endswith('_date') -%}
            {%- do cells.append('ops.to_date(' ~ column ~ '::text)::text') -%}
        {%- else -%}
            {%- do cells.append('ops.to_code(' ~ column ~ '::text)') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(cells) }}
{%- endmacro %}

{#
  Every row of `raw_rows(table)` with its version columns:
    record_key        the key cells (text[]); null when a key cell is empty
    content_hash      md5 of the row's cells (without batch, row, file, flags and the code as written)
    is_version_head   the row starts a version: its content differs from the key's row loaded before it
    is_current        the head of the key's last version (one per key)
    superseded_by_batch_id  the batch of the next version's head (null for the current version and
                      for its repeated deliveries): the version counted until that batch was loaded
    key_deliveries    how many rows of non-quarantined batches carry this key
    current_batch_id, current_row_number, current_content_hash: the row kept for the key
#}
{% macro record_versions(table) -%}
    {%- set cells = record_key_cells(table) -%}
    {%- set key = 'record_key, unkeyed_batch_id, unkeyed_row_number' -%}
    (
        select
            headed.*,
            headed.is_version_head and headed.superseded_by_batch_id is null as is_current,
            headed.current_load_position / 10000000000 as current_batch_id,
            (headed.current_load_position % 10000000000)::integer as current_row_number
        from (
            select
                versioned.*,
                min(versioned.batch_id) filter (where versioned.is_version_head) over key_later
                    as superseded_by_batch_id,
                max(versioned.load_position) filter (where versioned.is_version_head) over key_whole
                    as current_load_position
            from (
                select
                    keyed.*,
                    keyed.content_hash is distinct from lag(keyed.content_hash) over key_load as is_version_head,
                    count(*) over key_whole as key_deliveries,
                    last_value(keyed.content_hash) over key_whole as current_content_hash
                from (
                    select
                        {{ table }}.*,
                        case when {% for c in cells %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
                            then array[{{ cells | join(', ') }}] end as record_key,
                        case when {% for c in cells %}{{ c }} is null{% if not loop.last %} or {% endif %}{% endfor %}
                            then {{ table }}.batch_id end as unkeyed_batch_id,
                        case when {% for c in cells %}{{ c }} is null{% if not loop.last %} or {% endif %}{% endfor %}
                            then {{ table }}.row_number end as unkeyed_row_number,
                        md5((to_jsonb({{ table }})
                            - array['batch_id', 'row_number', 'source_file', 'flags', 'uscc_original'])::text)
                            as content_hash,
                        {{ table }}.batch_id * 10000000000 + {{ table }}.row_number as load_position
                    from {{ raw_rows(table) }}
                ) as keyed
                window
                    key_load as (partition by {{ key }} order by batch_id, row_number),
                    key_whole as (key_load rows between unbounded preceding and unbounded following)
            ) as versioned
            window
                key_load as (partition by {{ key }} order by batch_id, row_number),
                key_later as (key_load rows between 1 following and unbounded following),
                key_whole as (key_load rows between unbounded preceding and unbounded following)
        ) as headed
    ) as {{ table }}
{%- endmacro %}

{#
  One row per version of each business key of a raw table (see above): use in staging as
  `from {{ latest_records('penalties') }}`, in place of `raw_rows('penalties')`. The current
  version has superseded_by_batch_id null; an earlier version carries the batch that replaced it,
  and only a closed period whose cutoff fell between the two counts it
  (arrived_in_time(batch_id, period, superseded_by_batch_id)). Every other reader keeps
  `superseded_by_batch_id is null`: one row per key.
#}
{% macro latest_records(table) -%}
    (
        select {{ table }}.*
        from {{ record_versions(table) }}
        where {{ table }}.is_version_head
    ) as {{ table }}
{%- endmacro %}

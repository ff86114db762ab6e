-- Every delivery of a record that arrived more than once: one row per raw row (of a batch
-- the raw quality gate passed) whose business key (sources.yml key:, dbt var record_keys) other rows share.
-- version_status says what became of it: current (the row grading and publication use), repeated
-- (the same content delivered again, e.g. a re-export), superseded (an older content, replaced by
-- the row named by current_record_id). A view, like all of staging: the versions are worked out when queried.
{% set tables = var('record_keys').keys() | list | sort %}
{% for table in tables %}
select
    '{{ table }}'::text as raw_table,
    {{ table }}.record_key::text[] as record_key,
    {{ table }}.batch_id::bigint as batch_id,
    {{ table }}.row_number::integer as row_number,
    {{ table }}.source_file::text as source_file,
    {{ record_id("'" ~ table ~ "'", table ~ '.batch_id', table ~ '.row_number') }}::text as source_record_id,
    case
        when {{ table }}.is_current then 'current'
        when {{ table }}.content_hash = {{ table }}.current_content_hash then 'repeated'
        else 'superseded'
    end::text as version_status,
    {{ record_id("'" ~ table ~ "'", table ~ '.current_batch_id', table ~ '.current_row_number') }}::text
        as current_record_id,
    {{ table }}.key_deliveries::integer as key_deliveries
from {{ record_versions(table) }}
where {{ table }}.key_deliveries > 1
{% if not loop.last %}union all{% endif %}
{% endfor %}

{#
  Grading by period, incrementally. The grading models that hold one row per subject (or record)
  and period (int_subject_industries_scoped, int_province_evaluations_in_force,
  int_external_grades_in_force, int_indicator_records_by_period, int_indicator_points,
  fct_industry_credit_grades, fct_grade_explanations) are incremental models keyed by period and
  subject:

  - a closed period counts only the batches loaded before its cutoff, so it is computed again only
    when its signature (int_period_signatures) differs from the one the model was last built with:
    the closing or a re-grading, the batches that count for it, the project's code and seeds, and,
    for the grades and explanations, the manual adjustments of that period;
  - an open period counts every batch the raw quality gate passed. When the model was last built
    from the same code and seeds (open_signature) and every batch it counted then still counts, only
    the subjects the batches since then touch (int_open_period_changes) are computed again, the
    other subjects' rows kept; otherwise (a first build, a change of code or seeds, a batch
    quarantined after it counted) the period is computed whole;
  - a period that is no longer in the seed evaluation_periods is removed.

  Why a subject's rows can be kept: every model here computes a subject's rows of a period from that
  subject's own rows (records, scopes, register rows, evaluations, adjustments, list entries) and
  from the seeds, and nothing in them depends on the day of the run. A batch that changes none of a
  subject's rows cannot change its grade.

  Each model records, per period, the signature it was built from (and for an open period the
  batches it counted) in the table int_built_periods (in the intermediate schema, created by
  int_period_signatures, dropped with the rest by a rebuild). `credit-platform dbt build
  --full-refresh` builds every period again from scratch and gives the same rows
  (tests/integration/test_incremental_grading.py).

  Use in a model:
    {{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
              pre_hook="{{ graded_periods_pre_hook('records') }}",
              post_hook="{{ graded_periods_post_hook('records') }}") }}
    -- depends_on: {{ ref('int_period_signatures') }}
    -- depends_on: {{ ref('int_open_period_changes') }}
    ... where {{ graded_rows('records', 'p.evaluation_period', 'x.uscc') }}   -- true outside an incremental run
  `kind` is 'records' (the records and points) or 'grades' (grades and explanations, which also follow
  the manual adjustments of closed periods).
#}

{#- An md5 over the project's models, seeds, snapshots and macros (their checksums as dbt parsed
    them) and its record keys: any change to the project's code or seeds computes every period again. -#}
{% macro project_code_signature() -%}
    {%- set parts = [tojson(var('record_keys', {}))] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.package_name == project_name and node.resource_type in ('model', 'seed', 'snapshot') -%}
                {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- the project's macros, as the context holds them (dbt's graph does not list macros) -#}
        {%- for name, m in context.items() | sort -%}
            {%- if m.macro is defined and m.macro.package_name == project_name -%}
                {%- do parts.append(name ~ '=' ~ local_md5(m.macro.macro_sql)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(local_md5(parts | join('|'))) -}}
{%- endmacro %}

{% macro built_periods_relation() -%}
    {{- return(api.Relation.create(database=this.database, schema=generate_schema_name('intermediate', none) | trim,
                                   identifier='int_built_periods')) -}}
{%- endmacro %}

{#- The periods this model keeps as they are: closed, with the signature it was built from. -#}
{% macro periods_kept(kind) -%}
    select s.evaluation_period
    from {{ ref('int_period_signatures') }} as s
    inner join {{ built_periods_relation() }} as b
        on b.model_name = '{{ this.identifier }}' and b.evaluation_period = s.evaluation_period
    where b.signature = s.{{ kind }}_signature
{%- endmacro %}

{#- The open periods this model computes again only for the subjects the new batches touch
    (int_open_period_changes): it was built from the same code and seeds (open_signature), and every
    batch it counted then still counts (no batch was quarantined, withdrawn or re-gated since). -#}
{% macro periods_in_part() -%}
    select s.evaluation_period
    from {{ ref('int_period_signatures') }} as s
    inner join {{ built_periods_relation() }} as b
        on b.model_name = '{{ this.identifier }}' and b.evaluation_period = s.evaluation_period
    where not s.is_closed and b.signature = s.open_signature and b.batch_ids <@ string_to_array(s.batch_ids, ',')::bigint[]
{%- endmacro %}

{#- The periods this run computes whole: the open ones it cannot compute in part and the closed ones
    whose signature changed. -#}
{% macro periods_to_grade(kind) -%}
    select s.evaluation_period
    from {{ ref('int_period_signatures') }} as s
    where s.evaluation_period not in ({{ periods_kept(kind) }})
        and s.evaluation_period not in ({{ periods_in_part() }})
{%- endmacro %}

{#- The rows this run computes, as a condition on a relation's period and subject columns: every row
    of a period computed whole, and in an open period computed in part, the rows of the subjects the
    new batches touch. Outside an incremental run, every row (true). -#}
{% macro graded_rows(kind, period_column, uscc_column) -%}
    {%- if is_incremental() -%}
    ({{ period_column }} in ({{ periods_to_grade(kind) }})
        or ({{ period_column }} in ({{ periods_in_part() }})
            and {{ uscc_column }} in (select c.uscc from {{ ref('int_open_period_changes') }} as c)))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- The table of built periods. int_period_signatures creates it (post-hook): it is upstream of every
    model graded by period, so in a build the table exists before any of them runs, the first
    incremental run after an upgrade included. A model built without it (a what-if builds only what
    the catalogue changes, into scratch schemas) creates it in its post-hook, under a transaction
    lock: two models built at once (dbt's threads) would otherwise both try to create it. batch_ids
    (the batches an open period counted when the model was built) came with grading the open period
    in part: a table of an earlier release gains the column, empty, and its open periods are
    computed whole once. -#}
{% macro create_built_periods() -%}
    select pg_advisory_xact_lock(hashtext('{{ built_periods_relation() }}'));
    create table if not exists {{ built_periods_relation() }} (
        model_name text not null,
        evaluation_period text not null,
        signature text not null,
        built_at timestamptz not null default now(),
        batch_ids bigint[],
        primary key (model_name, evaluation_period)
    );
    {#- only when missing: an ALTER TABLE would wait for the other models' writes to the table -#}
    do $$ begin
        if not exists (select 1 from information_schema.columns
                       where table_schema = '{{ built_periods_relation().schema }}'
                           and table_name = 'int_built_periods' and column_name = 'batch_ids') then
            alter table {{ built_periods_relation() }} add column batch_ids bigint[];
        end if;
    end $$
{%- endmacro %}

{#- Rendered when the model runs (hooks given as strings): in an incremental run, delete the rows
    computed again: the periods computed whole (and those no longer in the seed), and the touched
    subjects' rows of the open periods computed in part. -#}
{% macro graded_periods_pre_hook(kind) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as t
    where {{ graded_rows(kind, 't.evaluation_period', 't.uscc') }}
        or t.evaluation_period not in (select s.evaluation_period from {{ ref('int_period_signatures') }} as s)
    {%- endif -%}
{%- endmacro %}

{#- Rendered after the model is built: the signatures of the periods it now holds, and for an open
    period the batches it counted. -#}
{% macro graded_periods_post_hook(kind) -%}
    {{ create_built_periods() }};
    delete from {{ built_periods_relation() }} where model_name = '{{ this.identifier }}';
    insert into {{ built_periods_relation() }} (model_name, evaluation_period, signature, batch_ids)
    select '{{ this.identifier }}', evaluation_period,
        case when is_closed then {{ kind }}_signature else open_signature end,
        case when is_closed then null else string_to_array(batch_ids, ',')::bigint[] end
    from {{ ref('int_period_signatures') }}
    where (case when is_closed then {{ kind }}_signature else open_signature end) is not null;
{%- endmacro %}

{#- The raw tables whose rows the models graded by period count, directly or through staging: a row of
    a new batch in one of them may change its subject's grade in an open period
    (int_open_period_changes). tests/unit/test_graded_raw_tables.py keeps the list equal to the raw
    tables upstream of the graded models. -#}
{% macro graded_raw_tables() -%}
    {{- return(['commendations', 'commitments', 'complaints', 'credit_repairs', 'external_grades',
                'grade_adjustments', 'inspection_results', 'licences', 'penalties', 'province_evaluations',
                'serious_dishonesty_list', 'subject_register', 'supervision_scopes']) -}}
{%- endmacro %}

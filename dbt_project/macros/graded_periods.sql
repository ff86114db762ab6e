{#
  Grading by period, incrementally. The grading models that hold one row per subject (or record)
  and period (int_subject_industries_scoped, int_province_evaluations_in_force,
  int_external_grades_in_force, int_indicator_records_by_period, int_indicator_points,
  fct_industry_credit_grades, fct_grade_explanations) are incremental models keyed by period:

  - an open period is computed again on every run (its records may change with any batch);
  - a closed period counts only the batches loaded before its cutoff, so it is computed again only
    when its signature (int_period_signatures) differs from the one the model was last built with:
    the closing or a re-grading, the batches that count for it, the project's code and seeds, and,
    for the grades and explanations, the manual adjustments of that period;
  - a period that is no longer in the seed evaluation_periods is removed.

  Each model records, per period, the signature it was built from in the table int_built_periods
  (in the intermediate schema, created by int_period_signatures, dropped with the rest by a rebuild).
  `credit-platform dbt build --full-refresh` builds every period again from
  scratch and gives the same rows (tests/integration/test_incremental_grading.py).

  Use in a model:
    {{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
              pre_hook="{{ graded_periods_pre_hook('records') }}",
              post_hook="{{ graded_periods_post_hook('records') }}") }}
    ... where {{ period_column }} in ({{ periods_to_grade('records') }})   -- only when is_incremental()
  `kind` is 'records' (the records and points) or 'grades' (grades and explanations, which also follow
  the manual adjustments).
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

{#- The periods this run computes: the open ones and the closed ones whose signature changed. -#}
{% macro periods_to_grade(kind) -%}
    select s.evaluation_period
    from {{ ref('int_period_signatures') }} as s
    where s.evaluation_period not in ({{ periods_kept(kind) }})
{%- endmacro %}

{#- The table of built periods. int_period_signatures creates it (post-hook): it is upstream of every
    model graded by period, so in a build the table exists before any of them runs, the first
    incremental run after an upgrade included. A model built without it (a what-if builds only what
    the catalogue changes, into scratch schemas) creates it in its post-hook, under a transaction
    lock: two models built at once (dbt's threads) would otherwise both try to create it. -#}
{% macro create_built_periods() -%}
    select pg_advisory_xact_lock(hashtext('{{ built_periods_relation() }}'));
    create table if not exists {{ built_periods_relation() }} (
        model_name text not null,
        evaluation_period text not null,
        signature text not null,
        built_at timestamptz not null default now(),
        primary key (model_name, evaluation_period)
    )
{%- endmacro %}

{#- Rendered when the model runs (hooks given as strings): in an incremental run, delete the periods
    computed again (and those no longer in the seed). -#}
{% macro graded_periods_pre_hook(kind) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as t where t.evaluation_period not in ({{ periods_kept(kind) }})
    {%- endif -%}
{%- endmacro %}

{#- Rendered after the model is built: the signatures of the closed periods it now holds. -#}
{% macro graded_periods_post_hook(kind) -%}
    {{ create_built_periods() }};
    delete from {{ built_periods_relation() }} where model_name = '{{ this.identifier }}';
    insert into {{ built_periods_relation() }} (model_name, evaluation_period, signature)
    select '{{ this.identifier }}', evaluation_period, {{ kind }}_signature
    from {{ ref('int_period_signatures') }}
    where {{ kind }}_signature is not null;
{%- endmacro %}

{#
  Models go to the schema their folder names (staging, intermediate, marts), not to
  "<target schema>_<custom schema>" as dbt does by default: the schemas and their grants are
  created by the warehouse migrations.

  CREDIT_DBT_SCHEMA_PREFIX (unset in every normal run) puts each node built into a prefixed
  schema instead, e.g. whatif_marts: `credit-platform what-if` grades a proposed indicator
  catalogue there, deferring everything it does not build to the real schemas.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('CREDIT_DBT_SCHEMA_PREFIX', '') | trim -%}
    {%- if custom_schema_name is none -%}
        {{ prefix }}{{ target.schema }}
    {%- else -%}
        {{ prefix }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

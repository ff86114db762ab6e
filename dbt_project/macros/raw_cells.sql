{#
  Raw tables keep the cells as delivered (text); the loader has proved that every kept cell
  parses. Staging models type them with the same SQL functions the loader validated with.
#}
{% macro raw_text(column) -%}
    nullif({{ column }}, '')
{%- endmacro %}

{% macro raw_date(column) -%}
    ops.to_date({{ column }})
{%- endmacro %}

{% macro raw_number(column) -%}
    ops.to_number({{ column }})
{%- endmacro %}

{% macro raw_grade(column) -%}
    ops.to_grade({{ column }})
{%- endmacro %}

{% macro raw_list(column) -%}
    ops.to_text_list({{ column }})
{%- endmacro %}

{% macro raw_code(column) -%}
    ops.to_code({{ column }})
{%- endmacro %}

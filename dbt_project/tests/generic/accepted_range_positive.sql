{% test accepted_range_positive(model, column_name) %}
{# Every value of the column is above zero (nulls are for not_null to judge). #}
select {{ column_name }} from {{ model }} where {{ column_name }} <= 0
{% endtest %}

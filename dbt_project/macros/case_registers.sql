{#- What the registers of objections (fct_objections) and repair applications
    (fct_repair_applications) share: the status day, the reply term, the calendar and the case's
    state (CTEs); the reply deadline, the state and whether it is overdue (columns); their joins.
    `alias` is the case's CTE alias, `number` its number column. -#}

{% macro case_register_ctes(kind) %}
{%- set as_of = var('objections_as_of', none) -%}
as_of as (
    select {% if as_of %}'{{ as_of }}'::date{% else %}(now() at time zone 'Asia/Shanghai')::date{% endif %} as as_of
),

settings as (
    select department_code, reply_workdays from {{ ref('dim_objection_settings') }}
),

calendar as (
    select day, workday, workday_number from {{ ref('stg_ops__work_calendar') }}
),

states as (
    select * from {{ ref('int_case_states') }} where case_kind = '{{ kind }}'
)
{%- endmacro %}

{% macro case_register_columns(alias) %}
    {{ alias }}.received_date::date as received_date,
    coalesce(s.reply_workdays, 15)::integer as reply_workdays,
    dl.day::date as reply_deadline,
    coalesce(st.state, 'received')::text as state,
    st.state_since::date as state_since,
    st.last_actor::text as last_actor,
    st.decision::text as decision,
    st.decision_reason::text as decision_reason,
    st.refusal_reason::text as refusal_reason,
    st.effect::text as effect,
    st.answered_on::date as answered_on,
    coalesce(st.answered_on > dl.day, false)::boolean as answered_late,
    coalesce(st.answered_on is null and dl.day < x.as_of, false)::boolean as is_overdue,
    x.as_of::date as status_on,
    {{ alias }}.batch_id::bigint as batch_id,
    {{ alias }}.source_file::text as source_file
{%- endmacro %}

{% macro case_register_joins(alias, number) %}
cross join as_of as x
left join settings as s on s.department_code = {{ alias }}.department_code
left join calendar as rc on rc.day = {{ alias }}.received_date
left join calendar as dl on dl.workday and dl.workday_number = rc.workday_number + coalesce(s.reply_workdays, 15)
left join {{ ref('dim_subjects') }} as subj on subj.uscc = {{ alias }}.uscc
left join states as st on st.department_code = {{ alias }}.department_code and st.case_number = {{ alias }}.{{ number }}
{%- endmacro %}

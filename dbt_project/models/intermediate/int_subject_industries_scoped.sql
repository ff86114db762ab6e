{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ graded_periods_pre_hook('records') }}", post_hook="{{ graded_periods_post_hook('records') }}") }}
-- depends_on: {{ ref('int_period_signatures') }}
-- depends_on: {{ ref('int_open_period_changes') }}
-- Who is graded where: each (subject, industry) a department's scope lists, when that department
-- owns the industry, for every evaluation period of the industry's cycle (half-year, year or
-- quarter: seed industries); deregistered subjects are not graded. For a closed period only the
-- scope and register rows loaded before its cutoff count (int_batches_arrived_late).
-- Incremental by period (macro file graded_periods.sql): a closed period already built is kept, and in an open period the subjects no new batch touches.
with scopes as (
    select s.uscc, s.industry_code, s.department_code, i.evaluation_cycle, s.batch_id,
        s.superseded_by_batch_id
    from {{ ref('stg_departments__supervision_scopes') }} as s
    inner join {{ ref('industries') }} as i
        on i.industry_code = s.industry_code and i.department_code = s.department_code
),

scoped as (
    select distinct
        scopes.uscc,
        scopes.industry_code,
        scopes.department_code,
        p.evaluation_period,
        p.period_start_date,
        p.period_end_date
    from scopes
    inner join {{ ref('evaluation_periods') }} as p on p.evaluation_cycle = scopes.evaluation_cycle
    where {{ arrived_in_time('scopes.batch_id', 'p.evaluation_period', 'scopes.superseded_by_batch_id') }}
    {%- if is_incremental() %}
    and {{ graded_rows('records', 'p.evaluation_period', 'scopes.uscc') }}
    {%- endif %}
),

registered as (
    -- the latest register row per subject known for the period (a later load supersedes)
    select distinct on (p.evaluation_period, r.uscc)
        p.evaluation_period,
        r.uscc,
        r.is_deregistered
    from {{ ref('stg_registry__subjects') }} as r
    cross join {{ ref('evaluation_periods') }} as p
    where {{ arrived_in_time('r.batch_id', 'p.evaluation_period', 'r.superseded_by_batch_id') }}
    {%- if is_incremental() %}
    and {{ graded_rows('records', 'p.evaluation_period', 'r.uscc') }}
    {%- endif %}
    order by p.evaluation_period, r.uscc, r.batch_id desc, r.row_number desc
)

select
    scoped.uscc,
    scoped.industry_code,
    scoped.department_code,
    scoped.evaluation_period,
    scoped.period_start_date,
    scoped.period_end_date
from scoped
inner join registered as reg on reg.evaluation_period = scoped.evaluation_period and reg.uscc = scoped.uscc
where not reg.is_deregistered

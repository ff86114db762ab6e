{{ config(indexes=[{'columns': ['uscc']}]) }}
-- Indexed by subject: a subject's measures are looked up one by one (letters, measure record).
-- Who gets what (分级分类监管措施): one row per subject, industry, period, measure and class spell.
-- A class spell is a run of consecutive versions of a grade (marts.fct_grade_history) in the same
-- grade class: a new version in the same class (new data, the same class) keeps the measures going;
-- a version in another class (a correction after an objection, a re-grade, new data) ends them and
-- starts those of the new class. The measures are those of the supervising department's list
-- (seed supervision_measures) in the list version in force on the day the spell began. A measure is
-- due from that day for its valid_months, and ends early (ended_on) when the class changes, when the
-- grade is no longer produced, or when a later period's grade of the subject in the industry takes
-- effect: the grade in force is then another.
with versions as (
    select
        h.uscc, h.industry_code, h.evaluation_period, h.version_number, h.grade, h.grade_class,
        h.valid_from, h.valid_to, h.stopped_because,
        h.grade_class is distinct from lag(h.grade_class) over w as starts_spell
    from {{ ref('fct_grade_history') }} as h
    window w as (partition by h.uscc, h.industry_code, h.evaluation_period order by h.version_number)
),

numbered as (
    select
        versions.*,
        sum(case when starts_spell then 1 else 0 end) over (
            partition by uscc, industry_code, evaluation_period order by version_number
        ) as spell_number
    from versions
),

spells as (
    select
        uscc, industry_code, evaluation_period, spell_number,
        min(version_number) as first_version,
        max(version_number) as last_version,
        min(grade_class) as grade_class,
        (array_agg(grade order by version_number desc))[1] as grade,
        min(valid_from) as started_at,
        case when bool_or(valid_to is null) then null else max(valid_to) end as stopped_at,
        (array_agg(stopped_because order by version_number desc))[1] as stopped_because
    from numbered
    group by uscc, industry_code, evaluation_period, spell_number
),

-- When each later period's grade of the subject in the industry first took effect.
period_starts as (
    select
        s.uscc, s.industry_code, s.evaluation_period, p.period_end_date,
        min(s.started_at) as first_graded_at
    from spells as s
    join {{ ref('dim_evaluation_periods') }} as p on p.evaluation_period = s.evaluation_period
    group by s.uscc, s.industry_code, s.evaluation_period, p.period_end_date
),

superseded as (
    select
        uscc, industry_code, evaluation_period,
        min(first_graded_at) over (
            partition by uscc, industry_code order by period_end_date desc
            rows between unbounded preceding and 1 preceding
        ) as later_period_at,
        first_value(evaluation_period) over (
            partition by uscc, industry_code order by period_end_date
            rows between 1 following and unbounded following
        ) as later_period
    from period_starts
),

ended as (
    select
        s.*,
        (s.started_at at time zone 'Asia/Shanghai')::date as due_from,
        case
            when sup.later_period_at is not null and (s.stopped_at is null or sup.later_period_at < s.stopped_at)
                then sup.later_period_at
            else s.stopped_at
        end as ended_at,
        case
            when sup.later_period_at is not null and (s.stopped_at is null or sup.later_period_at < s.stopped_at)
                then '新一期评价生效 / a later period''s grade took effect: ' || sup.later_period
            else s.stopped_because
        end as ended_because
    from spells as s
    left join superseded as sup using (uscc, industry_code, evaluation_period)
),

measured as (
    select
        e.*,
        i.department_code,
        m.measure_list_version, m.measure_code, m.measure_name, m.measure_kind, m.applied_by, m.legal_basis,
        m.valid_months, m.must_record, m.record_within_workdays,
        (e.due_from + make_interval(months => m.valid_months) - interval '1 day')::date as planned_until,
        (e.ended_at at time zone 'Asia/Shanghai')::date as ended_on
    from ended as e
    join {{ ref('industries') }} as i on i.industry_code = e.industry_code
    join {{ ref('measure_list_versions') }} as v
        on e.due_from >= v.effective_from and (v.effective_to is null or e.due_from <= v.effective_to)
    join {{ ref('supervision_measures') }} as m
        on m.measure_list_version = v.measure_list_version
        and m.department_code = i.department_code
        and m.industry_code = e.industry_code
        and m.grade_class = e.grade_class
)

select
    uscc::text as uscc,
    industry_code::text as industry_code,
    department_code::text as department_code,
    evaluation_period::text as evaluation_period,
    spell_number::integer as class_spell,
    first_version::integer as from_grade_version,
    last_version::integer as to_grade_version,
    grade::text as grade,
    grade_class::text as grade_class,
    measure_list_version::text as measure_list_version,
    measure_code::text as measure_code,
    measure_name::text as measure_name,
    measure_kind::text as measure_kind,
    applied_by::text as applied_by,
    legal_basis::text as legal_basis,
    must_record::boolean as must_record,
    record_within_workdays::integer as record_within_workdays,
    due_from::date as due_from,
    (case
        when ended_on is not null and ended_on <= planned_until then ended_on - 1
        else planned_until
    end)::date as due_until,
    planned_until::date as planned_until,
    (case when ended_on is not null and ended_on <= planned_until then ended_on end)::date as ended_on,
    (case when ended_on is not null and ended_on <= planned_until then ended_because end)::text as ended_because
from measured
-- a spell superseded on the day it began (two periods graded in one run: the later one is in force)
-- was never in force, and brings nothing
where ended_at is null or ended_at > started_at

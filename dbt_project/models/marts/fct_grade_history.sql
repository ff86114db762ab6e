-- Every version of every grade: one row per subject, industry, period and version, from the
-- snapshot history.grade_versions, with when and why each version became valid and stopped.
-- A version becomes valid when the grading first produces it (valid_from, the time of that run)
-- and stops when a later run replaces it (valid_to). Why: the first grading; a logged re-grading
-- of the closed period (ops.period_closures); or the basis of the new version (a manual
-- adjustment, a correction after an objection, the serious-dishonesty list, or new data).
with versions as (
    select
        v.*,
        row_number() over (partition by v.uscc, v.industry_code, v.evaluation_period order by v.valid_from)
            as version_number,
        lag(v.valid_from) over (partition by v.uscc, v.industry_code, v.evaluation_period order by v.valid_from)
            as previous_valid_from,
        lag(v.grade_basis) over (partition by v.uscc, v.industry_code, v.evaluation_period order by v.valid_from)
            as previous_basis
    from {{ ref('grade_versions') }} as v
),

explained as (
    select
        versions.*,
        objection.objection_id,
        case
            when version_number = 1 then '首次评价 / first graded: ' || basis_reason
            when regrade.reason is not null then
                '重新评价已关闭评价期 / closed period re-graded by ' || regrade.requested_by || ': ' || regrade.reason
            when grade_basis <> previous_basis or grade_basis in ('adjusted', 'objection_correction') then basis_reason
            else '数据更新 / new data: ' || basis_reason
        end as valid_because
    from versions
    left join lateral (
        -- the objection a correction answers (the adjustment names it; marts.fct_objections registers it)
        select a.objection_id
        from {{ ref('stg_departments__grade_adjustments') }} as a
        where versions.grade_basis = 'objection_correction' and a.adjustment_id = versions.adjustment_id
            and a.uscc = versions.uscc and a.industry_code = versions.industry_code
            and a.evaluation_period = versions.evaluation_period and a.objection_id is not null
        order by a.superseded_by_batch_id is null desc, a.batch_id desc
        limit 1
    ) as objection on true
    left join lateral (
        select c.reason, c.requested_by
        from {{ ref('stg_ops__period_closures') }} as c
        where c.evaluation_period = versions.evaluation_period and c.action = 'regrade'
            and c.recorded_at > versions.previous_valid_from and c.recorded_at <= versions.valid_from
        order by c.recorded_at desc
        limit 1
    ) as regrade on true
)

select
    uscc::text as uscc,
    industry_code::text as industry_code,
    evaluation_period::text as evaluation_period,
    version_number::integer as version_number,
    score::numeric(5, 2) as score,
    grade::text as grade,
    grade_class::text as grade_class,
    is_vetoed::boolean as is_vetoed,
    veto_rule_code::text as veto_rule_code,
    rule_version::text as rule_version,
    adjustment_id::text as adjustment_id,
    objection_id::text as objection_id,
    grade_basis::text as grade_basis,
    valid_from::timestamptz as valid_from,
    valid_to::timestamptz as valid_to,
    (valid_to is null)::boolean as is_current,
    valid_because::text as valid_because,
    (case
        when valid_to is null then null
        when lead(valid_because) over w is not null then lead(valid_because) over w
        else '不再评价 / no longer graded (out of scope, deregistered or the period removed)'
    end)::text as stopped_because
from explained
window w as (partition by uscc, industry_code, evaluation_period order by valid_from)

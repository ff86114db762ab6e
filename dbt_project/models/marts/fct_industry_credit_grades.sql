-- Industry credit grades (行业信用评价结果): one row per subject, industry and evaluation period.
-- score = base points (province grade in force, or the rule's no-evaluation base) + commendation
-- points - penalty deductions, kept within [0, 100], before any veto. The grade follows the cut
-- points of the rule version in force; being on the serious-dishonesty list within the period
-- forces D (veto SERIOUS_DISHONESTY); a subject without a province evaluation in force has
-- insufficient data and is never graded above B+.
with scoped as (
    select * from {{ ref('int_subject_industries_scoped') }}
),

scored as (
    select
        s.uscc,
        s.industry_code,
        s.department_code,
        s.evaluation_period,
        s.period_end_date,
        r.rule_version,
        ev.province_grade is not null as has_sufficient_data,
        round(greatest(0, least(100,
            coalesce(gp.base_points, r.no_evaluation_base_points)
            + coalesce(cm.commendation_points, 0)
            - coalesce(pd.deduction_points, 0)
        )), 2)::numeric(5, 2) as score,
        dl.uscc is not null as is_listed_dishonest
    from scoped as s
    inner join {{ ref('int_rule_versions_by_period') }} as r on r.evaluation_period = s.evaluation_period
    left join {{ ref('int_province_evaluations_in_force') }} as ev
        on ev.evaluation_period = s.evaluation_period and ev.uscc = s.uscc
    left join {{ ref('province_grade_points') }} as gp
        on gp.rule_version = r.rule_version and gp.province_grade = ev.province_grade
    left join {{ ref('int_commendation_points_by_period') }} as cm
        on cm.evaluation_period = s.evaluation_period and cm.uscc = s.uscc
    left join {{ ref('int_penalty_deductions_by_period') }} as pd
        on pd.evaluation_period = s.evaluation_period and pd.uscc = s.uscc
    left join {{ ref('int_serious_dishonesty_by_period') }} as dl
        on dl.evaluation_period = s.evaluation_period and dl.uscc = s.uscc
),

banded as (
    select
        scored.*,
        lvl.grade as score_grade,
        lvl.grade_class as score_grade_class
    from scored
    inner join {{ ref('grade_levels') }} as lvl
        on lvl.rule_version = scored.rule_version
        and scored.score <= lvl.upper_bound
        and (scored.score > lvl.lower_bound or (lvl.is_lower_inclusive and scored.score >= lvl.lower_bound))
)

select
    uscc::text as uscc,
    industry_code::text as industry_code,
    evaluation_period::text as evaluation_period,
    period_end_date::date as period_end_date,
    score,
    (case
        when is_listed_dishonest then 'D'
        when not has_sufficient_data and score_grade_class = 'A' then 'B+'
        else score_grade
    end)::text as grade,
    (case
        when is_listed_dishonest then 'D'
        when not has_sufficient_data and score_grade_class = 'A' then 'B'
        else score_grade_class
    end)::text as grade_class,
    is_listed_dishonest as is_vetoed,
    (case when is_listed_dishonest then 'SERIOUS_DISHONESTY' end)::text as veto_rule_code,
    has_sufficient_data,
    rule_version::text as rule_version,
    department_code::text as department_code
from banded

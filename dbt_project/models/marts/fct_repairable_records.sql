-- 可修复信息: every current penalty and serious-dishonesty list entry of a subject, with the day
-- from which the subject may apply to repair it: the end of the minimum publication period of the
-- rule in force at the decision date (seed publication_rules; a penalty's severity tier by the
-- department's mapping, int_penalties_classified; a list entry in the serious tier from its
-- listing date), the end of its publication, and the day it was repaired (a repair decision for a
-- penalty, 移出日期 for a list entry). What repair applications are checked against
-- (marts.fct_repair_applications) and what the explanation letter offers to repair. A penalty
-- delivered without a decision number cannot be named, so it is not here.
select
    'penalty'::text as record_type,
    p.department_code::text as department_code,
    p.uscc::text as uscc,
    p.decision_number::text as record_reference,
    p.decision_date::date as record_date,
    p.severity::text as severity,
    p.publication_rule::text as publication_rule,
    p.repairable_from_date::date as may_apply_from,
    coalesce(p.department_publication_end_date, p.computed_publication_end_date)::date as publication_end_date,
    p.repaired_date::date as repaired_date,
    null::text as listing_authority,
    null::text as listing_reason
from {{ ref('int_penalties_classified') }} as p
where p.superseded_by_batch_id is null and p.decision_number is not null  -- an application names it by its number
union all
select
    'serious_dishonesty',
    l.department_code,
    l.uscc,
    l.listed_date::text,
    l.listed_date,
    'serious',
    r.publication_rule,
    (l.listed_date + make_interval(months => r.min_publication_months))::date,
    (l.listed_date + make_interval(months => r.max_publication_months))::date,
    l.removed_date,
    l.listing_authority,
    l.listing_reason
from {{ ref('stg_departments__serious_dishonesty_list') }} as l
left join {{ ref('publication_rules') }} as r
    on r.severity = 'serious' and l.listed_date >= r.effective_from
    and (r.effective_to is null or l.listed_date <= r.effective_to)
where l.superseded_by_batch_id is null

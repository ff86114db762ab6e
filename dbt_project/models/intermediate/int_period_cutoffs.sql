-- The closed evaluation periods: one row per period that was closed, with the cutoff and the rule
-- version of its latest action (the closing, or a later logged re-grading).
select distinct on (evaluation_period)
    evaluation_period,
    cutoff_at,
    rule_version,
    rule_fingerprint,
    action as last_action,
    reason as last_reason,
    requested_by as last_requested_by,
    recorded_at as last_recorded_at
from {{ ref('stg_ops__period_closures') }}
order by evaluation_period, recorded_at desc, closure_id desc

select
    closure_id,
    evaluation_period,
    action,
    cutoff_at,
    rule_version,
    rule_fingerprint,
    reason,
    requested_by,
    recorded_at
from {{ source('ops', 'period_closures') }}

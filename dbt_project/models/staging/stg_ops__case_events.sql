select
    event_id,
    case_kind,
    department_code,
    case_number,
    from_state,
    to_state,
    reason_code,
    reason,
    actor,
    decided_on,
    effect,
    recorded_at,
    (row_number() over (partition by case_kind, department_code, case_number order by event_id))::integer
        as step_number
from {{ source('ops', 'case_events') }}

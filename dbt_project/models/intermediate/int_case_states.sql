{{ config(materialized='view') }}
-- Where each objection and repair application stands (a view, so the registers show a step the
-- moment it is recorded): the state of its latest step in ops.case_events, since when, the decision
-- taken under review, why a refused case was refused, and the day it was answered. A case with no
-- step is still received.
with steps as (
    select * from {{ ref('stg_ops__case_events') }}
)

select
    case_kind,
    department_code,
    case_number,
    (array_agg(to_state order by step_number desc))[1] as state,
    max(decided_on) as state_since,
    (array_agg(actor order by step_number desc))[1] as last_actor,
    max(to_state) filter (where to_state in ('upheld', 'partly_upheld', 'rejected', 'refused')) as decision,
    max(reason) filter (where to_state in ('upheld', 'partly_upheld', 'rejected', 'refused')) as decision_reason,
    max(reason_code) as refusal_reason,
    max(effect) as effect,
    max(decided_on) filter (where to_state = 'answered') as answered_on,
    count(*)::integer as steps
from steps
group by case_kind, department_code, case_number

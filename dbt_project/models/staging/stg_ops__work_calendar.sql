select
    day,
    workday,
    (count(*) filter (where workday) over (order by day))::integer as workday_number,
    calendar_source
from {{ source('ops', 'work_calendar') }}

-- A measure whose application must be recorded (信用监管执行信息) states within how many working
-- days; one that need not be recorded states none. Each row returned is a faulty list entry.
select measure_list_version, measure_code, must_record, record_within_workdays
from {{ ref('supervision_measures') }}
where (must_record and record_within_workdays is null)
   or (not must_record and record_within_workdays is not null)

-- 异议与修复申请的期限 per department: the working days within which it answers an objection or a
-- repair application, and within which a subject may object after an explanation letter (seed
-- objection_settings; 15 and 15 for a department it does not list).
select
    d.department_code::text as department_code,
    coalesce(s.reply_workdays, 15)::integer as reply_workdays,
    coalesce(s.objection_window_workdays, 15)::integer as objection_window_workdays,
    (case when s.department_code is null then 'default' else 'department' end)::text as configured_by
from {{ ref('departments') }} as d
left join {{ ref('objection_settings') }} as s on s.department_code = d.department_code

-- Who supervises whom: one row per department, industry and subject in a scope.
select distinct
    s.department_code,
    s.industry_code,
    s.uscc,
    coalesce(subj.is_deregistered, false) as is_deregistered
from {{ ref('stg_departments__supervision_scopes') }} as s
left join {{ ref('int_subjects_deduplicated') }} as subj on subj.uscc = s.uscc
where s.superseded_by_batch_id is null

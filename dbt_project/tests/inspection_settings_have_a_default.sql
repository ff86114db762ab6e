-- The inspection settings need their default row ('*'): without it a department with no row of
-- its own would draw with no overrides and keep its plans internal. Returns a row when it is missing.
select 'seed inspection_settings has no row for department_code *' as problem
where not exists (select 1 from {{ ref('inspection_settings') }} where department_code = '*')

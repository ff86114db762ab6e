-- Measures: per department, the supervision measures in force today (Asia/Shanghai) by kind, the
-- subjects they apply to, and how many must be recorded as applied (信用监管执行信息).
WITH today AS (SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS d)
SELECT m.department_code,
       count(DISTINCT m.uscc),
       count(*) FILTER (WHERE m.measure_kind = 'incentive'),
       count(*) FILTER (WHERE m.measure_kind = 'normal'),
       count(*) FILTER (WHERE m.measure_kind = 'restrictive'),
       count(*) FILTER (WHERE m.measure_kind = 'disciplinary'),
       count(*) FILTER (WHERE m.must_record)
  FROM marts.fct_subject_measures AS m, today
 WHERE m.due_from <= today.d AND m.due_until >= today.d
 GROUP BY m.department_code
 ORDER BY m.department_code

-- Measures to record (信用监管执行情况): per department, the measures that must be recorded as
-- applied (those that lapsed unapplied left out), by status as of the grading run
-- (marts.fct_measure_execution), and its execution records that were rejected
-- (marts.fct_measure_execution_records).
WITH rejected AS (
    SELECT department_code, count(*) FILTER (WHERE NOT accepted) AS rejected
      FROM marts.fct_measure_execution_records
     GROUP BY department_code
),
status AS (
    SELECT x.department_code,
           count(*) AS to_record,
           count(*) FILTER (WHERE x.status = 'applied_on_time') AS on_time,
           count(*) FILTER (WHERE x.status = 'applied_late') AS late,
           count(*) FILTER (WHERE x.status = 'overdue') AS overdue,
           count(*) FILTER (WHERE x.status = 'due') AS due,
           min(x.deadline) FILTER (WHERE x.status = 'due') AS next_deadline
      FROM marts.fct_measure_execution AS x
     WHERE x.status <> 'lapsed'
     GROUP BY x.department_code
)
SELECT coalesce(s.department_code, r.department_code), coalesce(s.to_record, 0), coalesce(s.on_time, 0),
       coalesce(s.late, 0), coalesce(s.overdue, 0), coalesce(s.due, 0), s.next_deadline, coalesce(r.rejected, 0)
  FROM status AS s
  FULL JOIN rejected AS r USING (department_code)
 ORDER BY 1

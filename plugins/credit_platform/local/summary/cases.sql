-- Objections (异议) and repair applications (信用修复申请) per department and kind: how many, how
-- many stand in each state (marts.fct_objections, marts.fct_repair_applications, read live), how
-- many are overdue (not answered by their reply deadline), and the letters written to subjects
-- (ops.subject_letters).
WITH cases AS (
    SELECT department_code, 'objection' AS kind, state, is_overdue FROM marts.fct_objections
    UNION ALL
    SELECT department_code, 'repair', state, is_overdue FROM marts.fct_repair_applications
),
letters AS (
    SELECT department_code, count(*) AS letters FROM ops.subject_letters GROUP BY 1
)
SELECT c.department_code, c.kind, count(*),
       count(*) FILTER (WHERE state = 'received'),
       count(*) FILTER (WHERE state IN ('accepted', 'under_review')),
       count(*) FILTER (WHERE state = 'refused'),
       count(*) FILTER (WHERE state IN ('upheld', 'partly_upheld')),
       count(*) FILTER (WHERE state = 'rejected'),
       count(*) FILTER (WHERE state = 'answered'),
       count(*) FILTER (WHERE is_overdue),
       coalesce(max(l.letters), 0)
  FROM cases AS c
  LEFT JOIN letters AS l USING (department_code)
 GROUP BY 1, 2
 ORDER BY 1, 2

-- Inspections: the latest draw round per department: matters, subjects drawn per grade class, must-inspect
-- subjects, joint tasks and the subjects eligible over the matters. per_class: one count per grade class of
-- seed grade_levels, in their order (composed in chain.py).
WITH r AS (SELECT draw_round FROM ops.inspection_plans WHERE draw_round IS NOT NULL
            ORDER BY created_at DESC LIMIT 1),
     joint AS (SELECT task_id FROM ops.inspection_tasks GROUP BY task_id
               HAVING count(DISTINCT department_code) > 1)
SELECT p.draw_round, p.department_code, count(DISTINCT p.plan_id), count(DISTINCT t.uscc),
       {per_class},
       count(DISTINCT t.uscc) FILTER (WHERE t.selection = 'override'),
       count(DISTINCT t.task_id) FILTER (WHERE t.task_id IN (SELECT task_id FROM joint)),
       (SELECT count(*) FROM ops.inspection_population x
         WHERE x.plan_id IN (SELECT plan_id FROM ops.inspection_plans q
                              WHERE q.draw_round = p.draw_round
                                AND q.department_code = p.department_code))
  FROM ops.inspection_plans p LEFT JOIN ops.inspection_tasks t USING (plan_id)
 WHERE p.draw_round = (SELECT draw_round FROM r)
 GROUP BY p.draw_round, p.department_code
 ORDER BY p.department_code

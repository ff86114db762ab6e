-- Inspections: the announcement of the latest draw round (抽查公告; ops.draw_announcements), with
-- the algorithm of its plans and how many of them are public (each has a verification kit).
WITH r AS (SELECT draw_round FROM ops.inspection_plans WHERE draw_round IS NOT NULL
            ORDER BY created_at DESC LIMIT 1)
SELECT a.draw_round, a.value_source, a.draw_at, a.announced_at, a.announced_value, a.value_recorded_at,
       (SELECT string_agg(DISTINCT p.algorithm_version, ', ') FROM ops.inspection_plans p
         WHERE p.draw_round = a.draw_round),
       (SELECT count(*) FROM ops.inspection_plans p
         WHERE p.draw_round = a.draw_round AND p.disclosure = 'public')
  FROM ops.draw_announcements a
 WHERE a.draw_round = (SELECT draw_round FROM r)

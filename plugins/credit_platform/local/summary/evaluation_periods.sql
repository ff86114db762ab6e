-- Evaluation periods: each graded period, its latest closure (or open), its late records and class changes.
SELECT g.evaluation_period,
       coalesce((SELECT c.action || ' ' || to_char(c.cutoff_at, 'YYYY-MM-DD HH24:MI') || ' by ' || c.requested_by
                   FROM ops.period_closures c
                  WHERE c.evaluation_period = g.evaluation_period
                  ORDER BY c.recorded_at DESC
                  LIMIT 1), 'open'),
       (SELECT count(*) FROM marts.fct_late_records l WHERE l.evaluation_period = g.evaluation_period),
       (SELECT count(*) FROM marts.fct_grade_changes x WHERE x.to_period = g.evaluation_period)
  FROM (SELECT DISTINCT evaluation_period FROM marts.fct_industry_credit_grades) g
 ORDER BY 1

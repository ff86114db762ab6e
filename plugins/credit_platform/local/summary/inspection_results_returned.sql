-- Inspections: tasks whose result has been returned (an inspection date), of all tasks.
SELECT count(*) FILTER (WHERE inspection_date IS NOT NULL), count(*)
  FROM marts.fct_inspection_outcomes

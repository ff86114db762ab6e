-- Grades: the latest graded evaluation period.
SELECT evaluation_period
  FROM marts.fct_industry_credit_grades
 ORDER BY period_end_date DESC
 LIMIT 1

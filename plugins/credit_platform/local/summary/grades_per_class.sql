-- Grades: subjects per grade class and industry in one evaluation period, and those with thin data.
SELECT i.industry_code, i.industry_name,
       count(*) FILTER (WHERE grade_class = 'A'), count(*) FILTER (WHERE grade_class = 'B'),
       count(*) FILTER (WHERE grade_class = 'C'), count(*) FILTER (WHERE grade_class = 'D'),
       count(*) FILTER (WHERE NOT has_sufficient_data)
  FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i USING (industry_code)
 WHERE evaluation_period = %(evaluation_period)s
 GROUP BY 1, 2
 ORDER BY 1

-- Grades: subjects per grade class and industry in one evaluation period, and those with thin data.
-- per_class: one count per grade class of seed grade_levels, in their order (composed in chain.py).
SELECT i.industry_code, i.industry_name, {per_class},
       count(*) FILTER (WHERE NOT has_sufficient_data)
  FROM marts.fct_industry_credit_grades g JOIN marts.dim_industries i USING (industry_code)
 WHERE evaluation_period = %(evaluation_period)s
 GROUP BY 1, 2
 ORDER BY 1

-- Publications: the departments' grade workbooks of the latest period, and their rows.
SELECT count(DISTINCT platform), coalesce(sum(row_count), 0)
  FROM ops.publications
 WHERE platform LIKE 'department:%'
   AND dataset = 'grades'
   AND period = (SELECT max(period) FROM ops.publications
                  WHERE platform LIKE 'department:%' AND dataset = 'grades')

-- Loads: rejected rows per reason code, the most frequent first.
SELECT reason_code, count(*)
  FROM ops.rejected_rows
 GROUP BY 1
 ORDER BY 2 DESC

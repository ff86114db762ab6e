-- Publications: per platform (departments' workbooks apart), batches acknowledged and waiting, upserts,
-- withdrawals and the last acknowledgement.
SELECT platform, min(disclosure_level),
       count(*) FILTER (WHERE status = 'acknowledged'),
       count(*) FILTER (WHERE status <> 'acknowledged'),
       coalesce(sum(upserts), 0),
       coalesce(sum(withdrawals), 0),
       max(acknowledged_at)
  FROM ops.publications
 WHERE platform NOT LIKE 'department:%'
 GROUP BY platform
 ORDER BY platform

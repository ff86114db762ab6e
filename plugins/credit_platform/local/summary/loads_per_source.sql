-- Loads: one row per source, over every batch.
SELECT source,
       count(*) FILTER (WHERE status = 'loaded'),
       sum(rows_in),
       sum(rows_loaded),
       sum(rows_rejected),
       count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'duplicate'),
       count(*) FILTER (WHERE status = 'quarantined')
  FROM ops.load_batches
 GROUP BY source
 ORDER BY source

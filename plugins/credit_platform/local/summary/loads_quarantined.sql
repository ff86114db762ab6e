-- Loads: the ten latest quarantined batches and why.
SELECT batch_id, source_file, quarantine_reason
  FROM ops.load_batches
 WHERE status = 'quarantined'
 ORDER BY batch_id DESC
 LIMIT 10

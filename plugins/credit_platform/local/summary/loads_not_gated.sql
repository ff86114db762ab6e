-- Loads: the ten latest batches landed but not gated yet (so not graded).
SELECT batch_id, source_file, gate_error
  FROM ops.load_batches
 WHERE status = 'landed'
 ORDER BY batch_id DESC
 LIMIT 10

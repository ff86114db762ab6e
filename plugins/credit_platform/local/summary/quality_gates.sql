-- Quality gates: the latest Great Expectations run of each stage, with the number of runs and their time.
SELECT DISTINCT ON (stage) stage, success, evaluated, failed, seconds, data_docs_url,
       (SELECT count(*) FROM ops.validation_runs r WHERE r.stage = v.stage),
       (SELECT sum(r.seconds) FROM ops.validation_runs r WHERE r.stage = v.stage)
  FROM ops.validation_runs v
 ORDER BY stage, validated_at DESC

-- Crash-safe raw quality gate: a batch's rows feed staging only once the gate has passed it.
-- The loader commits a batch as 'landed' (rows in raw, not yet gated); the gate moves it to
-- 'loaded' (passed) or 'quarantined', or leaves it 'landed' with the error when its checks could
-- not run. The next load finishes gating every batch left 'landed' (a process killed between the
-- COPY's commit and the gate's verdict, or a gate that failed to run); staging takes the rows of
-- 'loaded' batches only (dbt macro raw_rows).
ALTER TABLE ops.load_batches DROP CONSTRAINT IF EXISTS load_batches_status_check;
ALTER TABLE ops.load_batches ADD CONSTRAINT load_batches_status_check
    CHECK (status IN ('running', 'landed', 'loaded', 'failed', 'quarantined', 'duplicate', 'interrupted'));
ALTER TABLE ops.load_batches
    ADD COLUMN IF NOT EXISTS gated_at   timestamptz,
    ADD COLUMN IF NOT EXISTS gate_error text;
COMMENT ON COLUMN ops.load_batches.status IS '状态: running 加载中 / landed 已入库待校验 (rows in raw, not yet passed by the raw quality gate; not graded) / loaded 已加载 (passed the gate; graded) / failed 失败 / quarantined 已隔离 (failed the gate; not graded) / duplicate 重复文件 / interrupted 中断';
COMMENT ON COLUMN ops.load_batches.gated_at IS '原始层校验结论时间: when the raw quality gate passed or quarantined the batch';
COMMENT ON COLUMN ops.load_batches.gate_error IS '校验未能完成的原因: why the raw gate could not decide (a check failed to run); the batch stays landed until a later gate decides';

-- Existing batches: a loaded batch the gate validated (it links its validation run) has passed;
-- a loaded batch without one was never gated (its load stopped before the gate) and is gated by
-- the next load; quarantined batches were decided when quarantined.
UPDATE ops.load_batches b SET gated_at = coalesce(v.validated_at, b.finished_at)
FROM ops.validation_runs v
WHERE b.status = 'loaded' AND b.gated_at IS NULL AND v.validation_run_id = b.validation_run_id;
UPDATE ops.load_batches SET status = 'landed'
WHERE status = 'loaded' AND validation_run_id IS NULL;
UPDATE ops.load_batches SET gated_at = coalesce(quarantined_at, finished_at)
WHERE status = 'quarantined' AND gated_at IS NULL;

CREATE INDEX IF NOT EXISTS load_batches_landed ON ops.load_batches (batch_id) WHERE status = 'landed';

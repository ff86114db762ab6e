-- Raw quality gate: every loaded batch is validated by the raw stage's Great Expectations
-- checkpoint. A batch that fails it (a required column missing from the file, too many rejected
-- rows, kept rows that break the raw suite) is quarantined: its rows stay in raw for inspection,
-- staging leaves them out, and the batch record says why and which validation run decided it.
ALTER TABLE ops.load_batches
    ADD COLUMN missing_columns   text[],
    ADD COLUMN quarantine_reason text,
    ADD COLUMN quarantined_at    timestamptz,
    ADD COLUMN validation_run_id bigint REFERENCES ops.validation_runs (validation_run_id);
COMMENT ON COLUMN ops.load_batches.status IS '状态: running 加载中 / loaded 已加载 / failed 失败 / quarantined 已隔离 (不参与评价) / duplicate 重复文件 / interrupted 中断';
COMMENT ON COLUMN ops.load_batches.missing_columns IS '文件表头缺少的必填列 (every row is then rejected and the batch quarantined)';
COMMENT ON COLUMN ops.load_batches.quarantine_reason IS '隔离原因: the failed expectations of the raw checkpoint';
COMMENT ON COLUMN ops.load_batches.quarantined_at IS '隔离时间';
COMMENT ON COLUMN ops.load_batches.validation_run_id IS '最近一次原始层校验 (ops.validation_runs, stage raw)';

ALTER TABLE ops.validation_runs
    ADD COLUMN batch_ids     bigint[],
    ADD COLUMN seconds       numeric(10, 3),
    ADD COLUMN data_docs_url text;
COMMENT ON COLUMN ops.validation_runs.stage IS '校验阶段: raw 原始层 / marts 评价结果 / drift 等级分布漂移';
COMMENT ON COLUMN ops.validation_runs.batch_ids IS '原始层校验的加载批次 (ops.load_batches)';
COMMENT ON COLUMN ops.validation_runs.seconds IS '校验耗时 (秒)';
COMMENT ON COLUMN ops.validation_runs.data_docs_url IS 'Data Docs 页面 (relative to the docs site that make docs serves, e.g. gx/index.html)';

GRANT SELECT, INSERT ON ops.validation_runs TO credit_loader;

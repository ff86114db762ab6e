-- Explainable, reproducible grades.
--
-- ops.period_closures: closing an evaluation period freezes what its grades are computed from.
-- Each row is one explicit action: 'close' (the first) or 'regrade' (a later, logged re-grading
-- of a closed period). The latest action of a period gives its cutoff: records from batches loaded
-- after the cutoff are late for that period (they count from the next run of an open period) and
-- the period keeps the rule version recorded at closing, whatever rule versions are added later.
CREATE TABLE ops.period_closures (
    closure_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    evaluation_period text        NOT NULL,
    action            text        NOT NULL CHECK (action IN ('close', 'regrade')),
    cutoff_at         timestamptz NOT NULL,
    rule_version      text        NOT NULL,
    reason            text        NOT NULL CHECK (btrim(reason) <> ''),
    requested_by      text        NOT NULL CHECK (btrim(requested_by) <> ''),
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX period_closures_one_close ON ops.period_closures (evaluation_period) WHERE action = 'close';
COMMENT ON TABLE ops.period_closures IS '评价期关闭与重评记录: one row per closing or re-grading of an evaluation period; the latest gives the cutoff';
COMMENT ON COLUMN ops.period_closures.evaluation_period IS '评价期';
COMMENT ON COLUMN ops.period_closures.action IS '操作: close 关闭 / regrade 重新评价';
COMMENT ON COLUMN ops.period_closures.cutoff_at IS '数据截止时间: batches loaded after it are late for the period';
COMMENT ON COLUMN ops.period_closures.rule_version IS '评价规则版本 (kept for the period)';
COMMENT ON COLUMN ops.period_closures.reason IS '理由';
COMMENT ON COLUMN ops.period_closures.requested_by IS '操作人';
GRANT SELECT ON ops.period_closures TO credit_transformer, credit_analyst, credit_publisher;

-- A rebuild from the archive lands a batch again under its own id; when is recorded here.
ALTER TABLE ops.load_batches ADD COLUMN relanded_at timestamptz;
COMMENT ON COLUMN ops.load_batches.relanded_at IS '从归档重建的时间 (rebuilt from $CREDIT_ARCHIVE)';

-- A grade corrected after an objection names the objection it answers.
ALTER TABLE raw.grade_adjustments ADD COLUMN objection_id text;
COMMENT ON COLUMN raw.grade_adjustments.objection_id IS '异议编号 (when the adjustment corrects a grade after an objection)';

-- history: every version of every grade (a dbt snapshot). It is not rebuilt with the marts: a
-- rebuild from the archive adds versions only where a grade changed.
CREATE SCHEMA IF NOT EXISTS history;
COMMENT ON SCHEMA history IS '历史层: every version of every grade, kept across rebuilds (dbt snapshots)';
GRANT USAGE, CREATE ON SCHEMA history TO credit_transformer;
GRANT USAGE ON SCHEMA history TO credit_analyst, credit_publisher;
ALTER DEFAULT PRIVILEGES FOR ROLE credit_transformer IN SCHEMA history
    GRANT SELECT ON TABLES TO credit_analyst, credit_publisher;

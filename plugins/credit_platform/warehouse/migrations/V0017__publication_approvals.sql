-- Drift gate: when the class shares of a period's grades move too far from the previous period's
-- (population stability index above the threshold), publication waits for a person to release
-- the period with a reason. Each release is one row here.
CREATE TABLE ops.publication_approvals (
    approval_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    evaluation_period text        NOT NULL,
    validation_run_id bigint      REFERENCES ops.validation_runs (validation_run_id),
    reason            text        NOT NULL CHECK (btrim(reason) <> ''),
    approved_by       text        NOT NULL CHECK (btrim(approved_by) <> ''),
    approved_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.publication_approvals IS '发布放行: one row per release of a period whose grades drifted beyond the threshold';
COMMENT ON COLUMN ops.publication_approvals.evaluation_period IS '评价期';
COMMENT ON COLUMN ops.publication_approvals.validation_run_id IS '放行的漂移检查 (ops.validation_runs, stage drift)';
COMMENT ON COLUMN ops.publication_approvals.reason IS '放行理由';
COMMENT ON COLUMN ops.publication_approvals.approved_by IS '放行人';
GRANT SELECT ON ops.publication_approvals TO credit_publisher, credit_analyst;

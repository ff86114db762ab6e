-- Inspection draws (双随机) and data-quality validation results.

CREATE TABLE ops.inspection_plans (
    plan_id             text        PRIMARY KEY,
    department_code     text        NOT NULL,
    evaluation_period   text        NOT NULL,
    announced_value     text        NOT NULL,
    seed_sha256         text        NOT NULL CHECK (seed_sha256 ~ '^[0-9a-f]{64}$'),
    algorithm_version   text        NOT NULL,
    population_sha256   jsonb       NOT NULL,
    sample_sizes        jsonb       NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.inspection_plans IS '双随机抽查计划: one row per department and period; the seed is SHA-256 of plan id and announced value';

CREATE TABLE ops.inspection_tasks (
    task_id         text    NOT NULL,
    plan_id         text    NOT NULL REFERENCES ops.inspection_plans (plan_id) ON DELETE CASCADE,
    department_code text    NOT NULL,
    matter_code     text    NOT NULL,
    industry_code   text    NOT NULL,
    uscc            text    NOT NULL,
    grade_class     text    NOT NULL CHECK (grade_class IN ('A', 'B', 'C', 'D')),
    inspector_ids   text[]  NOT NULL CHECK (cardinality(inspector_ids) >= 2),
    PRIMARY KEY (plan_id, matter_code, uscc)
);
COMMENT ON TABLE ops.inspection_tasks IS '抽查任务: one row per department, matter and subject; a joint inspection (跨部门联合抽查) is one task_id on several rows';

CREATE TABLE ops.validation_runs (
    validation_run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stage             text        NOT NULL,
    checkpoint_name   text        NOT NULL,
    success           boolean     NOT NULL,
    evaluated         integer     NOT NULL,
    failed            integer     NOT NULL,
    details           jsonb       NOT NULL,
    validated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.validation_runs IS '数据质量校验: one row per Great Expectations checkpoint run; publication requires the latest marts run to have passed';

GRANT SELECT, INSERT, DELETE ON ops.inspection_plans, ops.inspection_tasks TO credit_publisher;
GRANT SELECT ON ops.inspection_plans, ops.inspection_tasks TO credit_transformer, credit_analyst;
GRANT SELECT, INSERT ON ops.validation_runs TO credit_publisher;
GRANT SELECT ON ops.validation_runs TO credit_analyst;

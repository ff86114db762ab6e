-- Run records every later stage writes: one row per load batch and one per publication.

CREATE TABLE ops.load_batches (
    batch_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text        NOT NULL,
    department_code text,
    source_file     text,
    file_sha256     text CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'loaded', 'failed', 'quarantined')),
    rows_in         integer CHECK (rows_in >= 0),
    rows_loaded     integer CHECK (rows_loaded >= 0),
    rows_rejected   integer CHECK (rows_rejected >= 0),
    message         text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK (rows_in IS NULL OR rows_loaded IS NULL OR rows_rejected IS NULL
           OR rows_in = rows_loaded + rows_rejected)
);
COMMENT ON TABLE ops.load_batches IS '加载批次: one row per file or push loaded into raw; rows_in = rows_loaded + rows_rejected';
COMMENT ON COLUMN ops.load_batches.source IS '数据来源 (e.g. province_evaluation, penalty)';
COMMENT ON COLUMN ops.load_batches.department_code IS '报送部门代码';
COMMENT ON COLUMN ops.load_batches.source_file IS '源文件名';
COMMENT ON COLUMN ops.load_batches.file_sha256 IS '源文件 SHA-256 (archive key)';
COMMENT ON COLUMN ops.load_batches.status IS '状态: running 加载中 / loaded 已加载 / failed 失败 / quarantined 已隔离';
COMMENT ON COLUMN ops.load_batches.rows_in IS '读入行数';
COMMENT ON COLUMN ops.load_batches.rows_loaded IS '入库行数';
COMMENT ON COLUMN ops.load_batches.rows_rejected IS '拒收行数';

CREATE TABLE ops.publications (
    publication_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform         text        NOT NULL CHECK (platform IN ('city', 'prefecture', 'province')),
    disclosure_level text        NOT NULL CHECK (disclosure_level IN ('public', 'authorised', 'internal')),
    period           text,
    output_path      text,
    file_sha256      text CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    row_count        integer CHECK (row_count >= 0),
    status           text        NOT NULL DEFAULT 'prepared'
                     CHECK (status IN ('prepared', 'sent', 'acknowledged', 'failed', 'withdrawn')),
    message          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
COMMENT ON TABLE ops.publications IS '发布记录: one row per publication sent to a sharing platform';
COMMENT ON COLUMN ops.publications.platform IS '共享平台: city 信用怀仁 / prefecture 信用朔州 / province 省平台';
COMMENT ON COLUMN ops.publications.disclosure_level IS '公开级别: public 完全公开 / authorised 依授权公开 / internal 内部使用';

GRANT SELECT, INSERT, UPDATE ON ops.load_batches TO credit_loader;
GRANT SELECT ON ops.load_batches TO credit_transformer, credit_analyst;
GRANT SELECT, INSERT, UPDATE ON ops.publications TO credit_publisher;
GRANT SELECT ON ops.publications TO credit_analyst;

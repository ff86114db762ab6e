-- Where each incremental pull from an HTTP API stopped (the credit portal's province results).
CREATE TABLE ops.pull_watermarks (
    source     text        PRIMARY KEY,
    watermark  text        NOT NULL,
    last_file  text,
    records    integer     NOT NULL CHECK (records >= 0),
    pulled_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.pull_watermarks IS '接口增量拉取位置: the latest updatedAt pulled per source; the next pull asks for later ones';
GRANT SELECT, INSERT, UPDATE ON ops.pull_watermarks TO credit_loader;
GRANT SELECT ON ops.pull_watermarks TO credit_analyst;

-- Publication to the sharing platforms, incremental and idempotent: every batch sent has an
-- idempotency key and its items; what each platform has acknowledged is kept item by item, so a
-- run sends only what changed (withdrawals included) and a rerun or a retry sends nothing twice.
-- Authorised recipients (依授权公开) read only the subjects that authorised them.
ALTER TABLE ops.publications DROP CONSTRAINT IF EXISTS publications_platform_check;
ALTER TABLE ops.publications
    ADD CONSTRAINT publications_platform_check CHECK (platform ~ '^[a-z][a-z0-9_]*(:[a-z0-9_]+)?$'),
    ADD COLUMN dataset         text,
    ADD COLUMN idempotency_key text UNIQUE,
    ADD COLUMN format          text CHECK (format IN ('csv', 'json', 'xml', 'xlsx')),
    ADD COLUMN transport       text CHECK (transport IN ('file', 'http')),
    ADD COLUMN upserts         integer CHECK (upserts >= 0),
    ADD COLUMN withdrawals     integer CHECK (withdrawals >= 0),
    ADD COLUMN manifest_path   text,
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN receipt         text,
    ADD COLUMN acknowledged_at timestamptz;
COMMENT ON COLUMN ops.publications.platform IS '共享平台 (publication.yml: city 信用怀仁 / prefecture 信用朔州 / province 省平台), or department:<code> for a department''s workbook';
COMMENT ON COLUMN ops.publications.dataset IS '数据集: grades 信用评价结果 / penalties 行政处罚 / licences 行政许可 / commendations 表彰奖励';
COMMENT ON COLUMN ops.publications.idempotency_key IS '幂等键: sent with every attempt of the batch; a receiver that sees it twice applies it once';
COMMENT ON COLUMN ops.publications.status IS 'prepared 已生成 / sent 已发送未确认 / acknowledged 已确认 / failed 失败 (message says why; a later run resends the same batch)';
COMMENT ON COLUMN ops.publications.upserts IS '新增或更新的记录数';
COMMENT ON COLUMN ops.publications.withdrawals IS '撤回的记录数';
COMMENT ON COLUMN ops.publications.attempts IS '发送次数 (all runs)';
COMMENT ON COLUMN ops.publications.receipt IS '回执: the platform''s answer, or the file written';

CREATE TABLE ops.publication_batch_items (
    publication_id   bigint NOT NULL REFERENCES ops.publications (publication_id) ON DELETE CASCADE,
    item_key         text   NOT NULL,
    action           text   NOT NULL CHECK (action IN ('upsert', 'withdraw')),
    disclosure_level text   NOT NULL CHECK (disclosure_level IN ('public', 'authorised', 'internal')),
    content_sha256   text   CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (publication_id, item_key)
);
COMMENT ON TABLE ops.publication_batch_items IS '发布批次明细: the items of each batch, applied to ops.publication_state when the platform acknowledges it';

CREATE TABLE ops.publication_state (
    platform         text        NOT NULL,
    dataset          text        NOT NULL,
    item_key         text        NOT NULL,
    disclosure_level text        NOT NULL,
    content_sha256   text        NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    publication_id   bigint      NOT NULL REFERENCES ops.publications (publication_id),
    acknowledged_at  timestamptz NOT NULL,
    PRIMARY KEY (platform, dataset, item_key)
);
COMMENT ON TABLE ops.publication_state IS '平台已确认状态: each item a platform holds now, as it last acknowledged it; a withdrawal removes the row';

CREATE TABLE ops.recipient_authorisations (
    authorisation_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_role   text        NOT NULL CHECK (recipient_role ~ '^credit_recipient_[a-z][a-z0-9_]*$'),
    uscc             text        NOT NULL,
    valid_from       date        NOT NULL DEFAULT current_date,
    valid_to         date,
    reference        text,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (recipient_role, uscc, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE ops.recipient_authorisations IS '信用信息授权: a subject authorises one recipient (a bank under 信易贷) to read its authorised-level results for a time';
COMMENT ON COLUMN ops.recipient_authorisations.reference IS '授权书编号';

GRANT SELECT, INSERT ON ops.publication_batch_items TO credit_publisher;
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.publication_state TO credit_publisher;
GRANT SELECT ON ops.recipient_authorisations TO credit_publisher;
GRANT SELECT ON ops.publication_batch_items, ops.publication_state, ops.recipient_authorisations TO credit_analyst;

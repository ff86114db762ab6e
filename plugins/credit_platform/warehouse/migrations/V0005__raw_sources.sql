-- Raw tables, one per source: what the loader accepted, in canonical column names, with the batch,
-- the source file and the row number of every row. Values are normalised (USCC upper case and
-- half-width, dates parsed) and the code as written is kept beside the normalised one.
-- Rejected rows go to ops.rejected_rows with a reason; rows in = rows loaded + rows rejected.

CREATE TABLE raw.province_evaluations (
    batch_id        bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file     text    NOT NULL,
    row_number      integer NOT NULL,
    subject_name    text,
    uscc            text    NOT NULL,
    uscc_original   text,
    grade           text    NOT NULL,
    score           numeric(6, 2),
    evaluation_date date    NOT NULL,
    push_batch_no   text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.province_evaluations IS '省公共信用综合评价结果 (province pushes), as loaded';

CREATE TABLE raw.subject_register (
    batch_id                bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file             text    NOT NULL,
    row_number              integer NOT NULL,
    uscc                    text    NOT NULL,
    uscc_original           text,
    subject_name            text,
    subject_type            text,
    division_code           text,
    established_date        date,
    registration_status     text,
    old_registration_number text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.subject_register IS '市场主体登记信息 (subject register), as loaded';

CREATE TABLE raw.supervision_scopes (
    batch_id        bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file     text    NOT NULL,
    row_number      integer NOT NULL,
    department_code text    NOT NULL,
    uscc            text    NOT NULL,
    uscc_original   text,
    subject_name    text,
    industry_code   text    NOT NULL,
    supervised_from date,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.supervision_scopes IS '行业监管范围 (which department supervises which subject in which industry), as loaded';

CREATE TABLE raw.inspector_rosters (
    batch_id           bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file        text    NOT NULL,
    row_number         integer NOT NULL,
    department_code    text    NOT NULL,
    inspector_id       text    NOT NULL,
    inspector_name     text,
    certificate_number text,
    conflict_usccs     text[]  NOT NULL DEFAULT '{}',
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.inspector_rosters IS '执法检查人员名录库 with declared conflicts of interest, as loaded';

CREATE TABLE raw.inspection_matters (
    batch_id        bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file     text    NOT NULL,
    row_number      integer NOT NULL,
    department_code text    NOT NULL,
    matter_code     text    NOT NULL,
    matter_name     text,
    industry_code   text    NOT NULL,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.inspection_matters IS '随机抽查事项清单, as loaded';

CREATE TABLE raw.penalties (
    batch_id             bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file          text    NOT NULL,
    row_number           integer NOT NULL,
    department_code      text    NOT NULL,
    subject_name         text,
    subject_category     text,
    uscc                 text    NOT NULL,
    uscc_original        text,
    legal_rep_name       text,
    legal_rep_id_type    text,
    legal_rep_id_number  text,
    decision_number      text,
    violation_type       text,
    facts                text,
    legal_basis          text,
    penalty_category     text,
    content              text,
    fine_amount          numeric(14, 4),
    confiscated_amount   numeric(14, 4),
    licence_affected     text,
    decision_date        date    NOT NULL,
    valid_until          date,
    publication_end_date date,
    authority_name       text,
    authority_uscc       text,
    data_source          text,
    data_source_uscc     text,
    remarks              text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.penalties IS '双公示 行政处罚 (CF_ records), as loaded; holds personal data: never published';
COMMENT ON COLUMN raw.penalties.legal_rep_id_number IS '法定代表人证件号码 (personal data)';
COMMENT ON COLUMN raw.penalties.fine_amount IS '罚款金额（万元）';

CREATE TABLE raw.licences (
    batch_id            bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file         text    NOT NULL,
    row_number          integer NOT NULL,
    department_code     text    NOT NULL,
    subject_name        text,
    subject_category    text,
    uscc                text    NOT NULL,
    uscc_original       text,
    legal_rep_name      text,
    licence_document    text,
    decision_number     text,
    licence_category    text,
    licence_certificate text,
    licence_number      text,
    content             text,
    decision_date       date    NOT NULL,
    valid_from          date,
    valid_to            date,
    authority_name      text,
    authority_uscc      text,
    licence_status      text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.licences IS '双公示 行政许可 (XK_ records), as loaded';

CREATE TABLE raw.serious_dishonesty_list (
    batch_id          bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file       text    NOT NULL,
    row_number        integer NOT NULL,
    department_code   text    NOT NULL,
    uscc              text    NOT NULL,
    uscc_original     text,
    subject_name      text,
    listed_date       date    NOT NULL,
    removed_date      date,
    listing_authority text,
    listing_reason    text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.serious_dishonesty_list IS '严重失信主体名单, as loaded';

CREATE TABLE raw.commendations (
    batch_id           bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file        text    NOT NULL,
    row_number         integer NOT NULL,
    department_code    text    NOT NULL,
    uscc               text    NOT NULL,
    uscc_original      text,
    subject_name       text,
    commendation_name  text,
    commendation_level text,
    commendation_date  date    NOT NULL,
    awarding_authority text,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.commendations IS '表彰奖励, as loaded';

CREATE TABLE ops.rejected_rows (
    rejected_row_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id        bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source_file     text    NOT NULL,
    row_number      integer NOT NULL,
    reason_code     text    NOT NULL,
    reason          text    NOT NULL,
    column_name     text,
    raw_value       text,
    record          jsonb   NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, row_number)
);
COMMENT ON TABLE ops.rejected_rows IS '拒收记录: one row per rejected input row, with the reason (原因) and the row as read';
COMMENT ON COLUMN ops.rejected_rows.reason_code IS '拒收原因代码 (e.g. uscc_invalid_checksum)';
COMMENT ON COLUMN ops.rejected_rows.reason IS '拒收原因说明';

ALTER TABLE ops.load_batches ADD COLUMN evaluation_period text;
CREATE INDEX load_batches_sha_idx ON ops.load_batches (source, file_sha256);

GRANT SELECT, INSERT ON ops.rejected_rows TO credit_loader;
GRANT SELECT ON ops.rejected_rows TO credit_analyst;

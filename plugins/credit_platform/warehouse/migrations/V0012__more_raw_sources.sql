-- The other department sources (brief section 3.2 and 4): commitments, inspection results, credit
-- repairs, complaints, external grades and manual grade adjustments. Shaped as V0009 left the
-- first ones: cells as delivered (text), batch, file, row number and department from the loader's
-- transaction defaults, a BRIN index on the batch.

CREATE TABLE raw.commitments (
    batch_id           bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file        text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number         integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code    text    NOT NULL DEFAULT current_setting('credit.department_code'),
    uscc               text,
    uscc_original      text,
    subject_name       text,
    commitment_type    text,
    commitment_content text,
    commitment_date    text,
    consent_to_publish text,
    fulfilment_status  text,
    status_date        text,
    accepting_unit     text,
    flags              text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.commitments IS '信用承诺 and 履约践诺 (commitments, whether kept), as delivered';
COMMENT ON COLUMN raw.commitments.consent_to_publish IS '是否同意公开 (是/否)';
COMMENT ON COLUMN raw.commitments.fulfilment_status IS '履约状态: 已履约 kept / 未履约 broken / 履约中 pending';

CREATE TABLE raw.inspection_results (
    batch_id        bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file     text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number      integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code text    NOT NULL DEFAULT current_setting('credit.department_code'),
    task_id         text,
    uscc            text,
    uscc_original   text,
    subject_name    text,
    matter_code     text,
    inspection_date text,
    result          text,
    inspectors      text,
    remarks         text,
    flags           text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.inspection_results IS '双随机抽查检查结果 (results of random inspections), as delivered';
COMMENT ON COLUMN raw.inspection_results.task_id IS '抽查任务编号 (ops.inspection_tasks.task_id, when the result answers a drawn task)';

CREATE TABLE raw.credit_repairs (
    batch_id         bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file      text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number       integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code  text    NOT NULL DEFAULT current_setting('credit.department_code'),
    uscc             text,
    uscc_original    text,
    subject_name     text,
    record_type      text,
    record_reference text,
    repair_date      text,
    repair_number    text,
    repair_authority text,
    flags            text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.credit_repairs IS '信用修复决定 (which record was repaired, on which date), as delivered';
COMMENT ON COLUMN raw.credit_repairs.record_reference IS '被修复信息的决定文书号 (e.g. the penalty''s CF_WSH)';

CREATE TABLE raw.complaints (
    batch_id        bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file     text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number      integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code text    NOT NULL DEFAULT current_setting('credit.department_code'),
    complaint_id    text,
    uscc            text,
    uscc_original   text,
    subject_name    text,
    received_date   text,
    channel         text,
    summary         text,
    status          text,
    flags           text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.complaints IS '投诉举报 (complaints and tips about a subject), as delivered';
COMMENT ON COLUMN raw.complaints.status IS '办理状态: 办理中 open / 已办结 closed / 不予受理 not accepted';

CREATE TABLE raw.external_grades (
    batch_id          bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file       text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number        integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code   text    NOT NULL DEFAULT current_setting('credit.department_code'),
    uscc              text,
    uscc_original     text,
    subject_name      text,
    grade_system      text,
    grade             text,
    evaluation_date   text,
    issuing_authority text,
    flags             text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.external_grades IS '外部信用评价 (tax A/B/M/C/D, highway AA-D, environmental 绿/蓝/黄/红), as delivered';

CREATE TABLE raw.grade_adjustments (
    batch_id          bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file       text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number        integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code   text    NOT NULL DEFAULT current_setting('credit.department_code'),
    adjustment_id     text,
    uscc              text,
    uscc_original     text,
    subject_name      text,
    industry_code     text,
    evaluation_period text,
    adjusted_grade    text,
    reason            text,
    approver          text,
    approval_date     text,
    flags             text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.grade_adjustments IS '人工调整 (a grade set by hand, with its reason and approver), as delivered';

CREATE INDEX commitments_batch_brin ON raw.commitments USING brin (batch_id);
CREATE INDEX inspection_results_batch_brin ON raw.inspection_results USING brin (batch_id);
CREATE INDEX credit_repairs_batch_brin ON raw.credit_repairs USING brin (batch_id);
CREATE INDEX complaints_batch_brin ON raw.complaints USING brin (batch_id);
CREATE INDEX external_grades_batch_brin ON raw.external_grades USING brin (batch_id);
CREATE INDEX grade_adjustments_batch_brin ON raw.grade_adjustments USING brin (batch_id);

-- A code as written, compared after NFKC and trimming (enumerations, grade systems).
CREATE FUNCTION ops.to_code(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(normalize(value, NFKC)), '')
$$;
GRANT EXECUTE ON FUNCTION ops.to_code(text) TO credit_loader, credit_transformer, credit_publisher, credit_analyst;

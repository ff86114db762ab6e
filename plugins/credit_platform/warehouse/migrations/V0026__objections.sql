-- Objections (异议): a graded subject objects to its grade or to a record behind it, through a
-- department. Filed as files through the inbox (source objection in sources.yml). Shaped like the
-- other department sources (V0012): cells as delivered, batch, file, row number and department
-- from the loader's transaction defaults, a BRIN index on the batch.

CREATE TABLE raw.objections (
    batch_id           bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file        text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number         integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code    text    NOT NULL DEFAULT current_setting('credit.department_code'),
    objection_number   text,
    uscc               text,
    uscc_original      text,
    subject_name       text,
    industry           text,
    evaluation_period  text,
    grounds            text,
    evidence_reference text,
    answer_channel     text,
    received_date      text,
    flags              text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.objections IS '信用评价异议申请 (objections to a grade or a record behind it), as delivered';
COMMENT ON COLUMN raw.objections.objection_number IS '异议编号 (the department''s own number; a grade adjustment names it)';
COMMENT ON COLUMN raw.objections.grounds IS '异议理由';
COMMENT ON COLUMN raw.objections.answer_channel IS '答复方式: 书面 / 电子邮件 / 短信 / 当面';
COMMENT ON COLUMN raw.objections.received_date IS '受理日期 (the reply deadline counts from it)';
CREATE INDEX objections_batch_brin ON raw.objections USING brin (batch_id);

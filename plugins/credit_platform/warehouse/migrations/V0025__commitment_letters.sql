-- Credit commitment letters (信用承诺书): `credit-platform commitments letters` writes one letter
-- per supervised subject of a department, stating the information used in grading, the grade
-- standards and the measures of each grade class. One row per letter written; a signed letter
-- comes back as a row of the commitments source (raw.commitments) of the type the letter names.
-- Also: the datasets ops.publications names now include commitments and the 信用+ lists.
CREATE TABLE ops.commitment_letters (
    letter_id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    letter_number        text        NOT NULL UNIQUE,
    department_code      text        NOT NULL,
    uscc                 text        NOT NULL,
    subject_name         text,
    industry_codes       text[]      NOT NULL,
    commitment_type      text        NOT NULL,
    rule_version         text        NOT NULL,
    measure_list_version text,
    template             text        NOT NULL,
    html_path            text,
    pdf_path             text,
    pdf_sha256           text,
    written_on           date        NOT NULL,
    written_at           timestamptz NOT NULL DEFAULT now(),
    written_by           text        NOT NULL DEFAULT session_user
);
CREATE INDEX commitment_letters_subject ON ops.commitment_letters (department_code, uscc, written_on);
COMMENT ON TABLE ops.commitment_letters IS '信用承诺书: one row per commitment letter written to a supervised subject (credit-platform commitments letters)';
COMMENT ON COLUMN ops.commitment_letters.letter_number IS '承诺书编号 (the subject quotes it in 承诺内容 when it signs)';
COMMENT ON COLUMN ops.commitment_letters.commitment_type IS '承诺类型 the signed letter comes back as (commitments source)';
COMMENT ON COLUMN ops.commitment_letters.rule_version IS '评价规则版本 whose standards the letter states';
COMMENT ON COLUMN ops.commitment_letters.measure_list_version IS '措施清单版本 whose measures the letter states';
COMMENT ON COLUMN ops.commitment_letters.template IS '承诺书模板 (the department''s own, or the default)';
COMMENT ON COLUMN ops.commitment_letters.written_on IS '出具日期';
GRANT SELECT, INSERT, UPDATE ON ops.commitment_letters TO credit_publisher;  -- UPDATE: the same letter written again the same day
GRANT SELECT ON ops.commitment_letters TO credit_analyst;

COMMENT ON COLUMN ops.publications.dataset IS '数据集: grades 信用评价结果 / penalties 行政处罚 / licences 行政许可 / commendations 表彰奖励 / commitments 信用承诺 (only those whose subject consented) / credit_plus 信用+名单 (to the partner of each programme) / inspections 双随机抽查计划与结果; for a department: grades, measures 分级分类监管措施, inspection_list 抽查任务清单, inspection_form 抽查结果反馈表';

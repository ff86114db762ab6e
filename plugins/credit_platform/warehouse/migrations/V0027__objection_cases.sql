-- The graded subject's side (异议与信用修复): applications to repair a record (信用修复申请) arrive
-- like objections, as files through a department's inbox (source repair_application); every step
-- a department takes on an objection or a repair application is one row of ops.case_events, who,
-- when and why, never updated or deleted; the letters written to subjects (信用评价说明书, answers)
-- are logged in ops.subject_letters.

CREATE TABLE raw.repair_applications (
    batch_id           bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file        text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number         integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code    text    NOT NULL DEFAULT current_setting('credit.department_code'),
    application_number text,
    uscc               text,
    uscc_original      text,
    subject_name       text,
    record_type        text,
    record_reference   text,
    grounds            text,
    evidence_reference text,
    answer_channel     text,
    received_date      text,
    flags              text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.repair_applications IS '信用修复申请 (applications to repair a penalty or a list entry), as delivered';
COMMENT ON COLUMN raw.repair_applications.application_number IS '申请编号 (the department''s own number)';
COMMENT ON COLUMN raw.repair_applications.record_type IS '修复信息类别: 行政处罚 / 严重失信主体名单';
COMMENT ON COLUMN raw.repair_applications.record_reference IS '原决定文书号 of the record to repair';
COMMENT ON COLUMN raw.repair_applications.received_date IS '受理日期 (the reply deadline counts from it)';
CREATE INDEX repair_applications_batch_brin ON raw.repair_applications USING brin (batch_id);

CREATE TABLE ops.case_events (
    event_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_kind       text        NOT NULL CHECK (case_kind IN ('objection', 'repair')),
    department_code text        NOT NULL,
    case_number     text        NOT NULL,
    from_state      text        NOT NULL CHECK (from_state IN ('received', 'accepted', 'refused', 'under_review',
                                                               'upheld', 'partly_upheld', 'rejected')),
    to_state        text        NOT NULL CHECK (to_state IN ('accepted', 'refused', 'under_review', 'upheld',
                                                             'partly_upheld', 'rejected', 'answered')),
    reason_code     text        CHECK (reason_code IN ('out_of_scope', 'out_of_time', 'too_early')),
    reason          text        NOT NULL CHECK (btrim(reason) <> ''),
    actor           text        NOT NULL CHECK (btrim(actor) <> ''),
    decided_on      date        NOT NULL,
    effect          text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     text        NOT NULL DEFAULT session_user,
    CHECK ((to_state = 'refused') = (reason_code IS NOT NULL))
);
-- A case leaves each state once: two clerks moving the same case at once cannot both succeed.
CREATE UNIQUE INDEX case_events_once ON ops.case_events (case_kind, department_code, case_number, from_state);
COMMENT ON TABLE ops.case_events IS '异议、信用修复申请的办理记录: one row per step (from_state -> to_state), who, when and why; append-only';
COMMENT ON COLUMN ops.case_events.reason_code IS '不予受理原因: out_of_scope 不属于受理范围 / out_of_time 超过申请期限 / too_early 未满最短公示期';
COMMENT ON COLUMN ops.case_events.actor IS '办理人 (the clerk or approver who took the step)';
COMMENT ON COLUMN ops.case_events.effect IS 'what the step changed: the grade adjustment or repair decision it filed';

CREATE TABLE ops.subject_letters (
    letter_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    letter_number   text        NOT NULL UNIQUE,
    letter_kind     text        NOT NULL CHECK (letter_kind IN ('explanation', 'objection_answer', 'repair_answer')),
    department_code text        NOT NULL,
    uscc            text        NOT NULL,
    industry_code   text,
    evaluation_period text,
    case_number     text,
    html_path       text,
    pdf_path        text,
    pdf_sha256      text,
    written_on      date        NOT NULL,
    written_at      timestamptz NOT NULL DEFAULT now(),
    written_by      text        NOT NULL DEFAULT session_user
);
CREATE INDEX subject_letters_subject ON ops.subject_letters (uscc, written_on);
COMMENT ON TABLE ops.subject_letters IS '致主体的信函: explanation letters (信用评价说明书) and the answers to objections and repair applications';

GRANT SELECT, INSERT ON ops.case_events TO credit_publisher;
GRANT SELECT ON ops.case_events TO credit_transformer, credit_analyst;
GRANT SELECT, INSERT, UPDATE ON ops.subject_letters TO credit_publisher;
GRANT SELECT ON ops.subject_letters TO credit_analyst;

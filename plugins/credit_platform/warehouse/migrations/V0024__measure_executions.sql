-- The record of what was done (信用监管执行信息): departments report the supervision measures they
-- applied, as files through the inbox or with `credit-platform measure record`. Shaped like the
-- other department sources (V0012): cells as delivered, batch, file, row number and department from
-- the loader's transaction defaults, a BRIN index on the batch.

CREATE TABLE raw.measure_executions (
    batch_id        bigint  NOT NULL DEFAULT current_setting('credit.batch_id')::bigint,
    source_file     text    NOT NULL DEFAULT current_setting('credit.source_file'),
    row_number      integer NOT NULL DEFAULT nextval('pg_temp.credit_row_number'::text),
    department_code text    NOT NULL DEFAULT current_setting('credit.department_code'),
    uscc            text,
    uscc_original   text,
    subject_name    text,
    measure_code    text,
    measure_name    text,
    applied_date    text,
    applied_by      text,
    document_number text,
    execution_note  text,
    flags           text[]  NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE raw.measure_executions IS '信用监管执行信息 (the supervision measures a department applied to a subject), as delivered';
COMMENT ON COLUMN raw.measure_executions.measure_code IS '措施代码 (seed supervision_measures)';
COMMENT ON COLUMN raw.measure_executions.applied_date IS '执行日期';
CREATE INDEX measure_executions_batch_brin ON raw.measure_executions USING brin (batch_id);

-- Working days (工作日) for deadlines computed in the warehouse, written by `credit-platform
-- warehouse migrate` from the platform's one calendar (credit_platform.workdays: the
-- chinesecalendar package, then holidays.yml, else Monday to Friday).
CREATE TABLE ops.work_calendar (
    day             date    PRIMARY KEY,
    workday         boolean NOT NULL,
    calendar_source text    NOT NULL CHECK (calendar_source IN ('chinesecalendar', 'holidays.yml', 'weekdays'))
);
COMMENT ON TABLE ops.work_calendar IS '工作日历: one row per day, whether it is a working day in mainland China (statutory holidays and 调休), and which calendar said so';
COMMENT ON COLUMN ops.work_calendar.calendar_source IS '日历来源: chinesecalendar (the package), holidays.yml (the platform''s own list), weekdays (no calendar for the year: Monday to Friday)';
GRANT SELECT ON ops.work_calendar TO credit_transformer, credit_publisher, credit_analyst;

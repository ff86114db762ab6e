-- What a department is told about each file it sent (回执), and forms that come back in parts.
--
-- rejected_rows.problems: every problem of a rejected row with its column (code@column); reason_codes
-- keeps the codes alone.
--
-- header_row: the sheet row (1-based, as the clerk sees it in Excel) of the file's header, so that
-- a row is named by its sheet row (header_row + row_number); 0 for JSON, whose records have no rows.
-- rows_not_returned: rows of a returned form that the department has not filled in yet (a result
-- form with 3 of its 114 results): neither loaded nor rejected, listed in ops.unreturned_rows and
-- in the receipt, and loaded when a later file returns them. rows_in = rows_loaded + rows_rejected
-- still holds; rows read = rows_in + rows_not_returned.

ALTER TABLE ops.load_batches ADD COLUMN header_row integer CHECK (header_row >= 0);
ALTER TABLE ops.load_batches ADD COLUMN rows_not_returned integer NOT NULL DEFAULT 0 CHECK (rows_not_returned >= 0);
COMMENT ON COLUMN ops.load_batches.header_row IS '表头所在行 (sheet row of the header; a row''s sheet row is header_row + row_number)';
COMMENT ON COLUMN ops.load_batches.rows_not_returned IS '尚未回填行数 (form rows the department has not filled in yet; not in rows_in)';

ALTER TABLE ops.rejected_rows ADD COLUMN problems text[];
COMMENT ON COLUMN ops.rejected_rows.problems IS '全部问题 (every problem as code@column, so that each is told with its own column and cell)';

CREATE TABLE ops.unreturned_rows (
    batch_id    bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    row_number  integer NOT NULL,
    record      jsonb   NOT NULL,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE ops.unreturned_rows IS '尚未回填记录: rows of a returned form left blank by the department, with the row as read';
COMMENT ON COLUMN ops.unreturned_rows.row_number IS '数据行号 (the sheet row is ops.load_batches.header_row + row_number)';
COMMENT ON COLUMN ops.unreturned_rows.record IS '该行原样 (header -> cell, as read)';

GRANT SELECT, INSERT ON ops.unreturned_rows TO credit_loader;
GRANT SELECT ON ops.unreturned_rows TO credit_analyst;

-- The result form names each matter beside its code (抽查事项名称); read back with the form.
ALTER TABLE raw.inspection_results ADD COLUMN matter_name text;
COMMENT ON COLUMN raw.inspection_results.matter_name IS '抽查事项名称 as delivered (the form writes it beside the code)';

-- The size and modification time of the file a batch read, so that the hourly ingest DAGs pick up
-- only new or changed files (a file already loaded, unchanged, is not hashed and loaded again).
ALTER TABLE ops.load_batches ADD COLUMN file_size bigint CHECK (file_size >= 0),
    ADD COLUMN file_mtime timestamptz;
COMMENT ON COLUMN ops.load_batches.file_size IS '文件大小（字节）';
COMMENT ON COLUMN ops.load_batches.file_mtime IS '文件修改时间';
CREATE INDEX load_batches_source_file ON ops.load_batches (source_file, batch_id);

-- The publication checkpoint validates only what changed, as the search does: each publish table
-- records the checkpoint its rows passed (its checks and the code of its rules, as one md5). A row
-- of the next rebuild identical, in every column, to a row of the published table that passed the
-- same checkpoint is not validated again: the checks would give what they gave. Any other row is
-- validated, and new checks (another audience, column or level, another rule) validate every row.
ALTER TABLE ops.publication_searches
    ADD COLUMN IF NOT EXISTS checkpoint_signature text,
    ADD COLUMN IF NOT EXISTS rows_validated bigint;
COMMENT ON COLUMN ops.publication_searches.checkpoint_signature IS '发布校验摘要: md5 of the publication checkpoint the rows passed (its checks and the code of its rules); NULL until the table passed it';
COMMENT ON COLUMN ops.publication_searches.rows_validated IS '本次校验记录数: the rows not identical to a row of the table it replaced, validated by the same checkpoint';

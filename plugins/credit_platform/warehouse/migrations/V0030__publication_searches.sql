-- A publication searches only what changed for resident ID numbers: each publish table records the
-- search it went through (the definitions of the search functions and the credit-code prefixes and
-- provinces of publication.yml, as one md5). A row of the next rebuild identical, in every column
-- searched, to a row of the published table searched the same way is not searched again: the
-- search would give what it gave. Any other row is searched, and a new definition of a search
-- function, or new prefixes, makes every row searched again.
CREATE TABLE IF NOT EXISTS ops.publication_searches (
    table_name  text        PRIMARY KEY,
    signature   text        NOT NULL,
    rows_in     bigint      NOT NULL,
    rows_searched bigint    NOT NULL,
    searched_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.publication_searches IS '身份证号检索记录: per table of the publish schema, the search every one of its rows went through (md5 of the search functions and the configured credit-code prefixes)';
COMMENT ON COLUMN ops.publication_searches.table_name IS 'publish 表名 (grades, grades__next ...)';
COMMENT ON COLUMN ops.publication_searches.rows_in IS '表中记录数 (before any was withheld)';
COMMENT ON COLUMN ops.publication_searches.rows_searched IS '本次检索记录数: the rows not identical to a row of the table it replaced, searched by the same rules';
COMMENT ON COLUMN ops.publication_searches.signature IS '检索规则摘要: md5 of the search functions'' definitions and the credit-code prefixes and provinces';

GRANT SELECT, INSERT, UPDATE, DELETE ON ops.publication_searches TO credit_publisher;
GRANT SELECT ON ops.publication_searches TO credit_analyst;

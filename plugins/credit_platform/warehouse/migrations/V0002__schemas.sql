-- The layers of the warehouse. Data flows one way: raw -> staging -> intermediate -> marts -> publish.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS intermediate;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS publish;
CREATE SCHEMA IF NOT EXISTS ops;

COMMENT ON SCHEMA raw IS '原始数据层: files and pushes as loaded, one table per source, with batch id, source file and row number';
COMMENT ON SCHEMA staging IS '标准化层: dbt staging models, one per source (rename, cast, categorise)';
COMMENT ON SCHEMA intermediate IS '中间层: dbt indicator features and joins';
COMMENT ON SCHEMA marts IS '成果层: credit grades, explanations and inspection lists that analysts and publication read';
COMMENT ON SCHEMA publish IS '公示层: what leaves the warehouse, by disclosure level (public views, authorised views, files)';
COMMENT ON SCHEMA ops IS '运行记录: migrations, load batches, rejects, publications, inspection plans';

-- Only the platform's roles may connect to the warehouse database.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format(
        'GRANT CONNECT ON DATABASE %I TO credit_loader, credit_transformer, credit_publisher, '
        'credit_analyst, credit_public_reader, credit_authorised',
        current_database());
    -- dbt and the loader may use temporary tables; readers may not.
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO credit_loader, credit_transformer, credit_publisher',
        current_database());
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

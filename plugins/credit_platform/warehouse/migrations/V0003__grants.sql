-- Who may use each schema. Default privileges give the same grants on tables created later, by
-- migrations (run by the administrator) and by the component that owns a layer.

-- raw: the loader writes, the transformer reads.
GRANT USAGE ON SCHEMA raw TO credit_loader, credit_transformer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA raw TO credit_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO credit_transformer;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO credit_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT ON TABLES TO credit_transformer;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT USAGE, SELECT ON SEQUENCES TO credit_loader;

-- staging, intermediate, marts: built by dbt as the transformer.
GRANT USAGE, CREATE ON SCHEMA staging, intermediate, marts TO credit_transformer;
-- marts: read by analysts and by publication.
GRANT USAGE ON SCHEMA marts TO credit_analyst, credit_publisher;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO credit_analyst, credit_publisher;
ALTER DEFAULT PRIVILEGES FOR ROLE credit_transformer IN SCHEMA marts
    GRANT SELECT ON TABLES TO credit_analyst, credit_publisher;
ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO credit_analyst, credit_publisher;

-- publish: written by the publisher. The public reader and authorised recipients may enter the
-- schema but read nothing until the publisher grants SELECT on a particular view
-- (credit_platform.warehouse.access.grant_view).
GRANT USAGE, CREATE ON SCHEMA publish TO credit_publisher;
GRANT USAGE ON SCHEMA publish TO credit_public_reader, credit_authorised;

-- ops: each component reaches only its own run records (granted table by table).
GRANT USAGE ON SCHEMA ops TO credit_loader, credit_transformer, credit_publisher, credit_analyst;
GRANT SELECT ON ops.schema_migrations TO credit_loader, credit_transformer, credit_publisher, credit_analyst;

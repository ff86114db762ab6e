-- The roles each component connects as (see plugins/credit_platform/warehouse/roles.py).
-- Roles belong to the whole server, so each is created only when missing; passwords are set
-- outside migrations, from the environment (credit-platform warehouse set-passwords).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'credit_airflow',        -- owns Airflow's metadata database
        'credit_loader',         -- writes raw and its ops tables
        'credit_transformer',    -- dbt: reads raw, writes staging, intermediate, marts
        'credit_publisher',      -- reads marts, writes publish and publication records in ops
        'credit_analyst',        -- reads marts
        'credit_public_reader'   -- reads only the public views in publish
    ] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT', r);
        END IF;
    END LOOP;
    -- Authorised recipients (依授权公开): one login role per recipient, each a member of this group.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'credit_authorised') THEN
        CREATE ROLE credit_authorised NOLOGIN;
    END IF;
END
$$;

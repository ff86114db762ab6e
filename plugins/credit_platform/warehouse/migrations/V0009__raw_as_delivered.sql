-- Raw tables hold the cells as delivered, and the loader copies a well-formed CSV file straight
-- into them with one COPY (the fastest way into PostgreSQL), then validates the batch in place and
-- moves rejected rows out to ops.rejected_rows in the same transaction.
--
-- * Dates, amounts, scores, grades and lists stay text as written (2024/1/5, B＋ ...): the loader
--   has proved every kept value parses, and the dbt staging models type them with the functions
--   below, the same ones the loader validates with. The credit code is the exception: the loader
--   writes the normalised (or register-resolved) code to `uscc` and the code as written to
--   `uscc_original` where the two differ.
-- * Only the columns the loader fills itself stay NOT NULL (batch, file, row, department, flags):
--   a required cell left empty must reach the loader's validation, not fail the COPY.
-- * Batch, file, row number and department come from defaults the loader sets for its
--   transaction (`credit.*` settings and a temporary sequence), so a COPY need not carry them.
-- * The primary key (batch_id, row_number) becomes a BRIN index on batch_id: a batch is written
--   in one piece, BRIN finds it cheaply, and a btree maintained row by row cost about a third of
--   the COPY time. Uniqueness of (batch_id, row_number) is tested in the dbt staging models.

-- The typed value of a validated cell (one definition for the loader and the dbt staging models).
CREATE FUNCTION ops.to_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND substr(value, 6, 2) BETWEEN '01' AND '12'
                     AND substr(value, 9, 2) BETWEEN '01' AND '28'
                THEN make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, substr(value, 9, 2)::int)
                ELSE ops.parse_date_text(value) END
$$;

CREATE FUNCTION ops.to_number(value text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN btrim(value) ~ '^-?[0-9]+(\.[0-9]+)?$' THEN btrim(value)::numeric
                ELSE ops.parse_number_text(value) END
$$;

CREATE FUNCTION ops.to_grade(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(upper(regexp_replace(normalize(value, NFKC), '[[:space:]]', '', 'g')), '')
$$;

CREATE FUNCTION ops.to_text_list(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_remove(regexp_split_to_array(btrim(value), '\s*[;；,，]\s*'), ''), '{}')
$$;

GRANT EXECUTE ON FUNCTION ops.to_date(text), ops.to_number(text), ops.to_grade(text), ops.to_text_list(text)
    TO credit_loader, credit_transformer, credit_publisher, credit_analyst;

DO $$
DECLARE
    t text;
    c record;
BEGIN
    FOREACH t IN ARRAY ARRAY['province_evaluations', 'subject_register', 'supervision_scopes', 'inspector_rosters',
                             'inspection_matters', 'penalties', 'licences', 'serious_dishonesty_list', 'commendations']
    LOOP
        EXECUTE format('ALTER TABLE raw.%I DROP CONSTRAINT %I', t, t || '_pkey');
        FOR c IN
            SELECT column_name, data_type, is_nullable FROM information_schema.columns
            WHERE table_schema = 'raw' AND table_name = t
              AND column_name NOT IN ('batch_id', 'source_file', 'row_number', 'department_code', 'flags')
        LOOP
            IF c.data_type = 'ARRAY' THEN
                EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN %I DROP DEFAULT', t, c.column_name);
                EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN %I TYPE text USING array_to_string(%I, '';'')',
                               t, c.column_name, c.column_name);
            ELSIF c.data_type <> 'text' THEN
                EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN %I TYPE text', t, c.column_name);
            END IF;
            IF c.is_nullable = 'NO' THEN
                EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN %I DROP NOT NULL', t, c.column_name);
            END IF;
        END LOOP;
        EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN batch_id SET DEFAULT current_setting(''credit.batch_id'')::bigint,'
                       ' ALTER COLUMN source_file SET DEFAULT current_setting(''credit.source_file''),'
                       ' ALTER COLUMN row_number SET DEFAULT nextval(''pg_temp.credit_row_number''::text)', t);
        IF EXISTS (SELECT FROM information_schema.columns
                   WHERE table_schema = 'raw' AND table_name = t AND column_name = 'department_code') THEN
            EXECUTE format('ALTER TABLE raw.%I ALTER COLUMN department_code'
                           ' SET DEFAULT current_setting(''credit.department_code'')', t);
        END IF;
        EXECUTE format('CREATE INDEX %I ON raw.%I USING brin (batch_id)', t || '_batch_brin', t);
    END LOOP;
END
$$;

COMMENT ON COLUMN raw.penalties.uscc_original IS '统一社会信用代码原文 (the code as written, where it differs from uscc)';

-- Set-based validation: the loader copies rows as text into a temporary table and validates them
-- in SQL with these functions (one code path for loading and for `credit-platform check`).
-- Also: warning flags on loaded rows, protected personal records, duplicate and interrupted batches.

-- Unified social credit code: NFKC (full-width to half-width), upper case, spaces and hyphens removed.
CREATE FUNCTION ops.uscc_normalise(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(regexp_replace(upper(normalize(code, NFKC)), '[[:space:]-]', '', 'g'), '')
$$;

-- Check character of the first 17 characters (GB 32100-2015: weights 3^i mod 31).
CREATE FUNCTION ops.uscc_check_char(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr('0123456789ABCDEFGHJKLMNPQRTUWXY', (31 - (
          (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 1, 1)) - 1) * 1
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 2, 1)) - 1) * 3
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 3, 1)) - 1) * 9
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 4, 1)) - 1) * 27
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 5, 1)) - 1) * 19
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 6, 1)) - 1) * 26
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 7, 1)) - 1) * 16
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 8, 1)) - 1) * 17
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 9, 1)) - 1) * 20
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 10, 1)) - 1) * 29
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 11, 1)) - 1) * 25
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 12, 1)) - 1) * 13
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 13, 1)) - 1) * 8
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 14, 1)) - 1) * 24
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 15, 1)) - 1) * 10
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 16, 1)) - 1) * 30
        + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 17, 1)) - 1) * 28
    ) % 31) % 31 + 1, 1)
$$;

-- 'valid', 'uscc_missing', 'uscc_invalid_format' or 'uscc_invalid_checksum' of a normalised code.
CREATE FUNCTION ops.uscc_status(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN code IS NULL THEN 'uscc_missing'
        WHEN code !~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$' THEN 'uscc_invalid_format'
        WHEN ops.uscc_check_char(code) <> substr(code, 18, 1) THEN 'uscc_invalid_checksum'
        ELSE 'valid'
    END
$$;

-- A date as departments write it: 2024-01-05, 2024/1/5, 2024.1.5, 20240105, 2024年1月5日, a time
-- part ignored, or an Excel serial number. NULL when empty or not a real date.
CREATE FUNCTION ops.parse_date_text(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH s AS (
        SELECT regexp_replace(btrim(normalize(value, NFKC)), '[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$', '') AS t
    ), parts AS (
        SELECT t, coalesce(
            regexp_match(t, '^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$'),
            regexp_match(t, '^([0-9]{4})([0-9]{2})([0-9]{2})$'),
            regexp_match(t, '^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日$')
        ) AS m FROM s
    )
    SELECT CASE
        WHEN m IS NOT NULL
             AND m[2]::int BETWEEN 1 AND 12
             AND m[1]::int >= 1
             AND m[3]::int BETWEEN 1 AND extract(day FROM make_date(m[1]::int, m[2]::int, 1) + interval '1 month - 1 day')
            THEN make_date(m[1]::int, m[2]::int, m[3]::int)
        WHEN t ~ '^[0-9]{1,5}(\.[0-9]+)?$' AND t::numeric >= 1
            THEN date '1899-12-30' + floor(t::numeric)::int
    END
    FROM parts
$$;

-- A number as written (thousands separators and full-width digits allowed); NULL when empty or not a number.
CREATE FUNCTION ops.parse_number_text(value text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$' THEN t::numeric END
    FROM (SELECT replace(btrim(normalize(value, NFKC)), ',', '') AS t) s
$$;

GRANT EXECUTE ON FUNCTION ops.uscc_normalise(text), ops.uscc_check_char(text), ops.uscc_status(text),
    ops.parse_date_text(text), ops.parse_number_text(text)
    TO credit_loader, credit_transformer, credit_publisher, credit_analyst;

-- Warning flags on loaded rows (a legacy code, a subject outside the city, a resolved old number ...).
ALTER TABLE raw.province_evaluations ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.subject_register ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.supervision_scopes ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.inspector_rosters ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.inspection_matters ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.penalties ADD COLUMN flags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN registration_number text, ADD COLUMN organisation_code text;
ALTER TABLE raw.licences ADD COLUMN flags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN registration_number text, ADD COLUMN organisation_code text;
ALTER TABLE raw.serious_dishonesty_list ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.commendations ADD COLUMN flags text[] NOT NULL DEFAULT '{}';

-- Records about natural persons (行政相对人类别 自然人): kept whole, protected, outside grading.
CREATE TABLE raw.protected_person_records (
    batch_id    bigint  NOT NULL REFERENCES ops.load_batches (batch_id),
    source      text    NOT NULL,
    source_file text    NOT NULL,
    row_number  integer NOT NULL,
    record      jsonb   NOT NULL,
    PRIMARY KEY (batch_id, row_number)
);
COMMENT ON TABLE raw.protected_person_records IS '自然人记录 (personal data): kept as received, never graded or published; only the loader may read it';
REVOKE ALL ON raw.protected_person_records FROM credit_transformer;

ALTER TABLE ops.rejected_rows ADD COLUMN reason_codes text[];
UPDATE ops.rejected_rows SET reason_codes = ARRAY[reason_code];
ALTER TABLE ops.rejected_rows ALTER COLUMN reason_codes SET NOT NULL;
COMMENT ON COLUMN ops.rejected_rows.reason_codes IS '全部拒收原因代码 (every reason found); reason_code is the first';

ALTER TABLE ops.load_batches DROP CONSTRAINT load_batches_status_check;
ALTER TABLE ops.load_batches ADD CONSTRAINT load_batches_status_check
    CHECK (status IN ('running', 'loaded', 'failed', 'quarantined', 'duplicate', 'interrupted'));
ALTER TABLE ops.load_batches ADD COLUMN rows_protected integer CHECK (rows_protected >= 0),
    ADD COLUMN duplicate_of bigint REFERENCES ops.load_batches (batch_id);
COMMENT ON COLUMN ops.load_batches.rows_protected IS '其中自然人记录行数 (loaded into raw.protected_person_records; part of rows_loaded)';
COMMENT ON COLUMN ops.load_batches.duplicate_of IS '重复文件: the batch that already loaded this file';

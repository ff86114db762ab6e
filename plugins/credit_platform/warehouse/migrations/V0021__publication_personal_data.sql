-- Personal data never leaves, and one bad record does not stop the rest: resident ID numbers
-- (GB 11643) are recognised however they are written (full-width digits, spaces, hyphens or dots
-- between the groups, a lower-case x, the old 15-digit form), in any text, and in the credit-code
-- column when an 18-character value is a valid resident ID and not a plausible credit code. A
-- published record that carries one is withheld from every table, view and batch, and listed in
-- ops.publication_withheld (which record, dataset and column; never the value).

-- The text as the ID search sees it: NFKC (full-width digits, letters and separators become
-- ASCII), upper case, and the separators between digits removed ("1406 8119-9001.0112 3x" ->
-- "14068119900101123X"). Only the separators sit between two digits (or a digit and the check
-- character) are removed, so unrelated numbers stay apart.
CREATE OR REPLACE FUNCTION ops.resident_id_search_form(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT regexp_replace(upper(normalize(value, NFKC)),
                          '([0-9])[[:space:]\u00a0\u2010-\u2015\u2212\u30fb\u00b7._-]+(?=[0-9X])', '\1', 'g')
$$;
COMMENT ON FUNCTION ops.resident_id_search_form(text) IS '身份证号检索形式: NFKC, upper case, separators between digits removed';

-- Whether a text holds something shaped like a resident ID number anywhere: the 18-character
-- form (region, 19xx/20xx/18xx birth date, sequence, check character) or the 15-digit form,
-- standing alone (not inside a longer run of letters and digits). The check character is not
-- required: a mistyped ID number is personal data all the same. The same pattern is the
-- publication checkpoint's (expectations/publication.py RESIDENT_ID).
CREATE OR REPLACE FUNCTION ops.has_resident_id(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT ops.resident_id_search_form(value) ~
           ('(^|[^0-9A-Za-z])([1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]'
            '|[1-9][0-9]{7}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3})($|[^0-9A-Za-z])')
$$;
COMMENT ON FUNCTION ops.has_resident_id(text) IS '含身份证号: an 18- or 15-digit resident ID number anywhere in the text, however written';

-- Whether a value of the credit-code column is a resident ID number rather than a credit code.
-- Credit codes and resident IDs are both 18 characters, so the value is taken for an ID number when
-- it has an ID number's shape (region, birth date, sequence, check character) and is not a
-- plausible credit code: its first two characters are not a registration authority and
-- organisation category of GB 32100 (uscc_prefixes), or its characters 3-4 are not a province of
-- GB/T 2260 (uscc_provinces; both lists from publication.yml), or it is a valid resident ID
-- (plausible region, real birth date, ISO 7064 MOD 11-2 check character) whose GB 32100 check
-- character is wrong. A value that is both a valid ID and a plausible credit code is a credit code.
-- The old 15-digit form with a birth date is never a credit code.
CREATE OR REPLACE FUNCTION ops.is_resident_id_not_uscc(value text, uscc_prefixes text[], uscc_provinces text[])
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    v text := regexp_replace(ops.resident_id_search_form(value), '[^0-9A-Z]', '', 'g');
    y int; m int; d int;
    total int := 0;
    weights int[] := ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    alphabet text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    uscc_weights int[] := ARRAY[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
BEGIN
    IF v ~ '^[1-9][0-9]{7}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}$' THEN
        RETURN true;
    END IF;
    IF v !~ '^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$' THEN
        RETURN false;
    END IF;
    IF left(v, 2) <> ALL (uscc_prefixes) OR substr(v, 3, 2) <> ALL (uscc_provinces) THEN
        RETURN true;  -- shaped like an ID number, and no credit code can start so
    END IF;
    -- GB/T 2260 province codes (and 71 Taiwan, 81 Hong Kong, 82 Macao, 83 residents from Taiwan, 91 abroad)
    IF left(v, 2) NOT IN ('11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36',
                          '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62',
                          '63', '64', '65', '71', '81', '82', '83', '91') THEN
        RETURN false;
    END IF;
    y := substr(v, 7, 4)::int; m := substr(v, 11, 2)::int; d := substr(v, 13, 2)::int;
    IF d > extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day') THEN
        RETURN false;
    END IF;
    FOR i IN 1..17 LOOP
        total := total + substr(v, i, 1)::int * weights[i];
    END LOOP;
    IF substr('10X98765432', total % 11 + 1, 1) <> right(v, 1) THEN
        RETURN false;  -- not a valid ID number: a plausible credit code (the loader checked its checksum)
    END IF;
    total := 0;
    FOR i IN 1..17 LOOP
        total := total + (strpos(alphabet, substr(v, i, 1)) - 1) * uscc_weights[i];
    END LOOP;
    RETURN substr(alphabet, (31 - total % 31) % 31 + 1, 1) <> right(v, 1);
END
$$;
COMMENT ON FUNCTION ops.is_resident_id_not_uscc(text, text[], text[]) IS '信用代码列中的身份证号: shaped like a resident ID number and not a plausible GB 32100 credit code';

CREATE TABLE IF NOT EXISTS ops.publication_withheld (
    withheld_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_key      text        NOT NULL,
    as_of        date        NOT NULL,
    dataset      text        NOT NULL,
    item_key     text        NOT NULL,
    column_name  text        NOT NULL,
    reason       text        NOT NULL,
    withheld_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS publication_withheld_run ON ops.publication_withheld (run_key);
COMMENT ON TABLE ops.publication_withheld IS '暂缓发布: a record left out of every published table, view and batch of one publication run because a column holds a resident ID number (the value itself is not kept here)';
COMMENT ON COLUMN ops.publication_withheld.run_key IS '发布运行: one rebuild of the publish schema';
COMMENT ON COLUMN ops.publication_withheld.item_key IS '记录键 (item_key of publish.<dataset>)';
COMMENT ON COLUMN ops.publication_withheld.column_name IS '含身份证号的列';
COMMENT ON COLUMN ops.publication_withheld.reason IS '原因 (中文 / English) and what to do next';

GRANT SELECT, INSERT ON ops.publication_withheld TO credit_publisher;
GRANT SELECT ON ops.publication_withheld TO credit_analyst;

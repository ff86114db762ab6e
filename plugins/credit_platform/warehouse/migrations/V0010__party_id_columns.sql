-- The party's own ID type and number (CF_XDR_ZJLX / CF_XDR_ZJHM, XK_XDR_ZJLX / XK_XDR_ZJHM): the
-- national 双公示 standard carries them for individual businesses (and natural persons, whose rows
-- go to raw.protected_person_records). Personal data: kept in raw, never selected by staging.
ALTER TABLE raw.penalties ADD COLUMN party_id_type text, ADD COLUMN party_id_number text;
ALTER TABLE raw.licences ADD COLUMN party_id_type text, ADD COLUMN party_id_number text;
COMMENT ON COLUMN raw.penalties.party_id_number IS '行政相对人证件号码 (personal data)';
COMMENT ON COLUMN raw.licences.party_id_number IS '行政相对人证件号码 (personal data)';

-- Raw tables drop their foreign key to ops.load_batches: the check ran once per inserted row
-- (about 3 s per million rows, doubling the load time) while the loader writes batch_id from the
-- batch it has just opened, in the same transaction. The batch id stays indexed (primary keys)
-- and `ops.load_batches` remains the record of every batch.
ALTER TABLE raw.province_evaluations DROP CONSTRAINT province_evaluations_batch_id_fkey;
ALTER TABLE raw.subject_register DROP CONSTRAINT subject_register_batch_id_fkey;
ALTER TABLE raw.supervision_scopes DROP CONSTRAINT supervision_scopes_batch_id_fkey;
ALTER TABLE raw.inspector_rosters DROP CONSTRAINT inspector_rosters_batch_id_fkey;
ALTER TABLE raw.inspection_matters DROP CONSTRAINT inspection_matters_batch_id_fkey;
ALTER TABLE raw.penalties DROP CONSTRAINT penalties_batch_id_fkey;
ALTER TABLE raw.licences DROP CONSTRAINT licences_batch_id_fkey;
ALTER TABLE raw.serious_dishonesty_list DROP CONSTRAINT serious_dishonesty_list_batch_id_fkey;
ALTER TABLE raw.commendations DROP CONSTRAINT commendations_batch_id_fkey;
ALTER TABLE raw.protected_person_records DROP CONSTRAINT protected_person_records_batch_id_fkey;

-- The dated records that count for or against a subject, one row per record, in one long table
-- (a licence counts while it is valid: status valid and not past its end date):
-- which indicator source they feed, their date, the key that prices them (a penalty's severity,
-- a commendation's level), the date from which they stop counting (a penalty past its publication
-- period, a licence past its end) and, for a penalty, the date it was repaired and the batch of the
-- repair decision. The raw row behind each is named by raw table, batch and row number; an earlier
-- version of a record carries the batch that superseded it (only closed periods may count it).
select
    uscc,
    'penalties' as indicator_source,
    decision_date as record_date,
    severity as item_key,
    (computed_publication_end_date + 1) as counts_until,
    repaired_date,
    repair_batch_id,
    violation_type as record_text,
    'penalties' as raw_table,
    batch_id,
    row_number,
    superseded_by_batch_id
from {{ ref('int_penalties_classified') }}

union all

select uscc, 'commendations', commendation_date, commendation_level, null::date, null::date, null::bigint,
    commendation_name, 'commendations', batch_id, row_number, superseded_by_batch_id
from {{ ref('stg_departments__commendations') }}

union all

select uscc, case fulfilment_status when 'kept' then 'commitments_kept' else 'commitments_broken' end,
    coalesce(status_date, commitment_date), null, null::date, null::date, null::bigint, commitment_type,
    'commitments', batch_id, row_number, superseded_by_batch_id
from {{ ref('stg_departments__commitments') }}
where fulfilment_status in ('kept', 'broken')

union all

select uscc, 'inspection_problems', inspection_date, result, null::date, null::date, null::bigint, matter_code,
    'inspection_results', batch_id, row_number, superseded_by_batch_id
from {{ ref('stg_departments__inspection_results') }}
where result in ('corrected', 'penalised', 'not_found_at_address')

union all

select uscc, 'complaints', received_date, status, null::date, null::date, null::bigint, channel, 'complaints',
    batch_id, row_number, superseded_by_batch_id
from {{ ref('stg_departments__complaints') }}
where status in ('open', 'closed')

union all

select uscc, 'licences_valid', decision_date, null, (valid_to_date + 1), null::date, null::bigint,
    licence_category, 'licences', batch_id, row_number, superseded_by_batch_id
from {{ ref('stg_departments__licences') }}
where licence_status = 'valid'

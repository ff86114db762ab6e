-- The records the city shares with the platforms besides grades: administrative penalties and
-- licences (双公示), commendations, and the credit commitments whose subject consented to their
-- publication (是否同意公开 = 是), one row per record (its current version: staging keeps one per
-- business key), with the window in which it may be published. A commitment whose consent a later
-- delivery withdraws (the same commitment sent again with 否) leaves this model, and the platforms
-- are told to withdraw it. The publisher shares a record
-- while the day it publishes lies in the window and the record is not repaired; otherwise the
-- platforms are told to withdraw it.
-- Persons' records never reach this model (the loader keeps them apart), nor does any ID number.
with departments as (
    select department_code, department_name from {{ ref('departments') }}
),

penalties as (
    select distinct on (c.department_code, c.decision_number, c.uscc)
        c.*,
        s.subject_name,
        s.authority_name
    from {{ ref('int_penalties_classified') }} as c
    inner join {{ ref('stg_departments__penalties') }} as s
        on s.batch_id = c.batch_id and s.row_number = c.row_number
    where c.uscc is not null and c.decision_number is not null and c.superseded_by_batch_id is null
    order by c.department_code, c.decision_number, c.uscc, c.batch_id desc, c.row_number desc
),

licences as (
    select distinct on (department_code, decision_number, uscc) *
    from {{ ref('stg_departments__licences') }}
    where uscc is not null and decision_number is not null and superseded_by_batch_id is null
    order by department_code, decision_number, uscc, batch_id desc, row_number desc
),

commendations as (
    select distinct on (department_code, commendation_name, commendation_date, uscc) *
    from {{ ref('stg_departments__commendations') }}
    where uscc is not null and commendation_name is not null and superseded_by_batch_id is null
    order by department_code, commendation_name, commendation_date, uscc, batch_id desc, row_number desc
),

commitments as (
    select * from {{ ref('fct_commitments') }}
    where consent_to_publish and commitment_type is not null
),

records as (
    select
        'penalty' as record_type,
        'penalty|' || department_code || '|' || decision_number || '|' || uscc as record_key,
        uscc,
        subject_name,
        department_code,
        decision_number,
        decision_date,
        penalty_category as title,
        violation_type as detail,
        fine_amount_10k_yuan,
        null::text as fulfilment_status,
        null::date as valid_from_date,
        null::date as valid_to_date,
        decision_date as publication_start_date,
        coalesce(department_publication_end_date, computed_publication_end_date) as publication_end_date,
        repaired_date,
        authority_name,
        batch_id
    from penalties
    union all
    select
        'licence',
        'licence|' || department_code || '|' || decision_number || '|' || uscc,
        uscc,
        subject_name,
        department_code,
        decision_number,
        decision_date,
        licence_category,
        licence_number,
        null::numeric,
        null::text,
        valid_from_date,
        valid_to_date,
        decision_date,
        -- a revoked or cancelled licence is no longer shown as in force
        case when licence_status in ('revoked', 'cancelled') then decision_date else valid_to_date end,
        null::date,
        null::text,
        batch_id
    from licences
    union all
    select
        'commendation',
        'commendation|' || department_code || '|' || commendation_name || '|'
            || coalesce(commendation_date::text, '') || '|' || uscc,
        uscc,
        subject_name,
        department_code,
        null::text,
        commendation_date,
        commendation_name,
        commendation_level,
        null::numeric,
        null::text,
        null::date,
        null::date,
        commendation_date,
        null::date,
        null::date,
        awarding_authority,
        batch_id
    from commendations
    union all
    select
        'commitment',
        commitment_key,
        uscc,
        subject_name,
        department_code,
        null::text,
        commitment_date,
        commitment_type,
        commitment_content,
        null::numeric,
        case fulfilment_status when 'kept' then '已履约' when 'broken' then '未履约' when 'pending' then '履约中' end,
        null::date,
        null::date,
        commitment_date,
        null::date,
        null::date,
        accepting_unit,
        batch_id
    from commitments
)

select
    r.record_type,
    r.record_key,
    r.uscc,
    r.subject_name,
    r.department_code,
    d.department_name,
    r.decision_number,
    r.decision_date,
    r.title,
    r.detail,
    r.fine_amount_10k_yuan::numeric(14, 4) as fine_amount_10k_yuan,
    r.fulfilment_status,
    r.valid_from_date,
    r.valid_to_date,
    r.publication_start_date,
    r.publication_end_date,
    r.repaired_date,
    coalesce(r.authority_name, d.department_name) as authority_name,
    r.batch_id
from records as r
left join departments as d on d.department_code = r.department_code

-- One row per accepted penalty, classified for grading: its severity tier by the department's
-- mapping of category and fine (seed penalty_severity; a department's own rows before the '*'
-- defaults; the most severe when several categories are joined), the publication rule in force at
-- its decision date and the end of publication that rule gives, the department's own end date
-- (CF_GSJZQ) beside it with a flag when the two differ, and the date it was repaired, if it was
-- (with the batch of that repair decision). Earlier versions of a penalty come along with the batch
-- that superseded them (superseded_by_batch_id; only closed periods may count them).
with penalties as (
    select * from {{ ref('stg_departments__penalties') }}
),

parts as (
    select
        p.batch_id,
        p.row_number,
        p.department_code,
        coalesce(p.fine_amount_10k_yuan, 0) as fine,
        btrim(part) as category
    from penalties as p
    cross join lateral unnest(regexp_split_to_array(p.penalty_category, '\s*[;；,，]\s*')) as part
),

part_severity as (
    select distinct on (parts.batch_id, parts.row_number, parts.category)
        parts.batch_id,
        parts.row_number,
        s.severity
    from parts
    inner join {{ ref('penalty_severity') }} as s
        on s.penalty_category = parts.category
        and s.department_code in (parts.department_code, '*')
        and (s.min_fine_10k_yuan is null or parts.fine >= s.min_fine_10k_yuan)
        and (s.max_fine_10k_yuan is null or parts.fine < s.max_fine_10k_yuan)
    order by parts.batch_id, parts.row_number, parts.category, s.department_code = '*'
),

severity as (
    select
        batch_id,
        row_number,
        (array_agg(severity order by case severity when 'serious' then 1 when 'general' then 2 else 3 end))[1]
            as severity
    from part_severity
    group by batch_id, row_number
),

repairs as (
    -- the earliest repair of the record, and the batch it came in
    select distinct on (uscc, record_reference)
        uscc, record_reference, repair_date as repaired_date, batch_id as repair_batch_id
    from {{ ref('stg_departments__credit_repairs') }}
    where record_type = 'penalty' and superseded_by_batch_id is null
    order by uscc, record_reference, repair_date, batch_id, row_number
),

classified as (
    select
        p.*,
        coalesce(s.severity, 'general') as severity
    from penalties as p
    left join severity as s on s.batch_id = p.batch_id and s.row_number = p.row_number
)

select
    c.uscc,
    c.department_code,
    c.decision_number,
    c.decision_date,
    c.penalty_category,
    c.violation_type,
    c.fine_amount_10k_yuan,
    c.severity,
    r.publication_rule,
    (c.decision_date + make_interval(months => r.min_publication_months))::date as repairable_from_date,
    (c.decision_date + make_interval(months => r.max_publication_months))::date as computed_publication_end_date,
    c.publication_end_date as department_publication_end_date,
    coalesce(
        c.publication_end_date <> (c.decision_date + make_interval(months => r.max_publication_months))::date,
        false
    ) as has_publication_end_difference,
    rep.repaired_date,
    rep.repair_batch_id,
    c.batch_id,
    c.source_file,
    c.row_number,
    c.superseded_by_batch_id
from classified as c
left join {{ ref('publication_rules') }} as r
    on r.severity = c.severity
    and c.decision_date >= r.effective_from
    and (r.effective_to is null or c.decision_date <= r.effective_to)
left join repairs as rep on rep.uscc = c.uscc and rep.record_reference = c.decision_number

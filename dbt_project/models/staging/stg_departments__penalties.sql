-- Personal data (the legal representative's ID number) stays in raw: it is not selected here.
select
    department_code,
    uscc,
    {{ raw_text('subject_name') }} as subject_name,
    {{ raw_text('decision_number') }} as decision_number,
    {{ raw_text('violation_type') }} as violation_type,
    coalesce(nullif(btrim(penalty_category), ''), '其他') as penalty_category,
    {{ raw_number('fine_amount') }} as fine_amount_10k_yuan,
    {{ raw_number('confiscated_amount') }} as confiscated_amount_10k_yuan,
    {{ raw_date('decision_date') }} as decision_date,
    {{ raw_date('valid_until') }} as valid_until_date,
    {{ raw_date('publication_end_date') }} as publication_end_date,
    {{ raw_text('authority_name') }} as authority_name,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('penalties') }}

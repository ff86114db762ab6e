-- Personal data (the legal representative's ID number) stays in raw: it is not selected here.
select
    department_code,
    uscc,
    subject_name,
    decision_number,
    violation_type,
    coalesce(nullif(penalty_category, ''), '其他') as penalty_category,
    fine_amount as fine_amount_10k_yuan,
    confiscated_amount as confiscated_amount_10k_yuan,
    decision_date,
    valid_until as valid_until_date,
    publication_end_date,
    authority_name,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'penalties') }}

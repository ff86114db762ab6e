select
    department_code,
    uscc,
    {{ raw_text('industry_code') }} as industry_code,
    {{ raw_date('supervised_from') }} as supervised_from,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('supervision_scopes') }}

select
    department_code,
    {{ raw_text('matter_code') }} as matter_code,
    {{ raw_text('matter_name') }} as matter_name,
    {{ raw_text('industry_code') }} as industry_code,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('inspection_matters') }}

select
    department_code,
    {{ raw_text('inspector_id') }} as inspector_id,
    {{ raw_text('inspector_name') }} as inspector_name,
    {{ raw_text('certificate_number') }} as certificate_number,
    {{ raw_list('conflict_usccs') }} as conflict_usccs,
    batch_id,
    source_file,
    row_number,
    superseded_by_batch_id
from {{ latest_records('inspector_rosters') }}

select
    department_code,
    inspector_id,
    inspector_name,
    certificate_number,
    conflict_usccs,
    batch_id,
    source_file,
    row_number
from {{ source('raw', 'inspector_rosters') }}

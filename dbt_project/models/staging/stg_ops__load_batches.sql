select
    batch_id,
    source,
    department_code,
    source_file,
    file_sha256,
    finished_at as loaded_at
from {{ source('ops', 'load_batches') }}
where status = 'loaded'

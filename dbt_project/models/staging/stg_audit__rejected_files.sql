select
    rejection_id,
    run_id,
    file_id,
    path as source_path,
    content_hash,
    unit_code,
    year::integer    as year,
    quarter::integer as quarter,
    reason_code,
    message,
    rejected_at
from {{ source('audit', 'rejected_files') }}

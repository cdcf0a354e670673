select
    run_id,
    started_at,
    finished_at,
    status as run_status,
    files_found,
    files_loaded,
    files_rejected,
    facts_staged,
    submissions_accepted,
    submissions_held
from {{ source('audit', 'load_runs') }}

select
    gate_seq,
    file_id,
    run_id     as decided_in_run,
    decision,
    errors     as error_count,
    warnings   as warning_count,
    decided_at
from {{ source('audit', 'submission_gate') }}

select
    review_id,
    decision_seq,
    file_id          as reviewed_file_id,
    content_hash,
    unit_code,
    year::integer    as year,
    quarter::integer as quarter,
    decision         as review_decision,
    reason           as review_reason,
    reviewed_by,
    reviewed_at,
    state_before,
    rule_results
from {{ source('audit', 'submission_review') }}

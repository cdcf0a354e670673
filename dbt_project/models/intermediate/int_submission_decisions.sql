{{ config(tags=['pre_gate']) }}

-- Every submission the gate has decided, with the decision that stands: the data team's latest
-- review of that exact file version (same unit-quarter and content hash) when there is one,
-- else the gate's. decision_seq orders gate decisions and reviews together (they share one
-- sequence), so a review advances the incremental marts like a gate decision does.
with gate as (
    select * from {{ ref('stg_audit__submission_gate') }}
),

files as (
    select file_id, content_hash, unit_code, year, quarter from {{ ref('stg_raw__files') }}
),

latest_reviews as (
    select distinct on (unit_code, year, quarter, content_hash) *
    from {{ ref('stg_audit__submission_review') }}
    order by unit_code asc, year asc, quarter asc, content_hash asc, review_id desc
)

select
    gate.file_id,
    files.unit_code,
    files.year,
    files.quarter,
    files.content_hash,
    gate.gate_seq,
    gate.decision       as gate_decision,
    gate.error_count,
    gate.warning_count,
    gate.decided_at,
    latest_reviews.review_id,
    latest_reviews.review_decision,
    latest_reviews.review_reason,
    latest_reviews.reviewed_by,
    latest_reviews.reviewed_at,
    case latest_reviews.review_decision
        when 'accept' then 'accepted'
        when 'reject' then 'rejected'
        else gate.decision
    end as decision,
    greatest(gate.gate_seq, latest_reviews.decision_seq) as decision_seq
from gate
join files on files.file_id = gate.file_id
left join latest_reviews
    on latest_reviews.unit_code = files.unit_code
   and latest_reviews.year = files.year
   and latest_reviews.quarter = files.quarter
   and latest_reviews.content_hash = files.content_hash

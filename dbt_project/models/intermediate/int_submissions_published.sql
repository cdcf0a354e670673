{{ config(tags=['publish']) }}

-- The version BI sees for each unit-quarter: its latest submission the gate accepted.
-- A newer submission that was held back leaves the previous accepted one published.
with accepted as (
    select
        submissions.*,
        gate.gate_seq,
        gate.decided_at,
        row_number() over (partition by submissions.unit_code, submissions.year, submissions.quarter
                           order by submissions.file_id desc) as version_rank
    from {{ ref('int_submissions_enriched') }} as submissions
    join {{ ref('stg_audit__submission_gate') }} as gate
        on gate.file_id = submissions.file_id and gate.decision = 'accepted'
)

select * from accepted where version_rank = 1

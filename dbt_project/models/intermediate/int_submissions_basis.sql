{{ config(tags=['pre_gate']) }}

-- What history rules compare against: for every unit-quarter, the latest submission
-- that the gate has not held back (accepted, or still pending).
with not_held as (
    select
        submissions.*,
        row_number() over (partition by submissions.unit_code, submissions.year, submissions.quarter
                           order by submissions.file_id desc) as version_rank
    from {{ ref('int_submissions_enriched') }} as submissions
    left join {{ ref('stg_audit__submission_gate') }} as gate on gate.file_id = submissions.file_id
    where gate.decision is distinct from 'held'
)

select * from not_held where version_rank = 1

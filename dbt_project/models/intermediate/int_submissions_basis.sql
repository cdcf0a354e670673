{{ config(tags=['pre_gate']) }}

-- What history rules compare against: for every unit-quarter, the latest submission
-- that the gate has not held back (accepted, or still pending).
-- DISTINCT ON keeps PostgreSQL's row estimate right (see int_submissions_published).
select distinct on (submissions.unit_code, submissions.year, submissions.quarter)
    submissions.*
from {{ ref('int_submissions_enriched') }} as submissions
left join {{ ref('stg_audit__submission_gate') }} as gate on gate.file_id = submissions.file_id
where gate.decision is distinct from 'held'
order by submissions.unit_code asc, submissions.year asc, submissions.quarter asc, {{ submission_precedence('submissions') }}

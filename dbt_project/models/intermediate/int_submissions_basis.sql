{{ config(tags=['pre_gate', 'publish']) }}

-- Built after the gate too: rebuilding int_submission_outcomes there drops this view (cascade).

-- What history rules compare against: for every unit-quarter, the latest submission
-- that is not held back (accepted by the gate or on review, or still pending).
-- DISTINCT ON keeps PostgreSQL's row estimate right (see int_submissions_published).
select distinct on (submissions.unit_code, submissions.year, submissions.quarter)
    submissions.*
from {{ ref('int_submissions_enriched') }} as submissions
left join {{ ref('int_submission_outcomes') }} as outcomes on outcomes.file_id = submissions.file_id
where outcomes.decision is distinct from 'held' and outcomes.decision is distinct from 'rejected'
order by submissions.unit_code asc, submissions.year asc, submissions.quarter asc, {{ submission_precedence('submissions') }}

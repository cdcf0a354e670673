{{ config(tags=['pre_gate']) }}

-- What history rules compare against: for every unit-quarter, the latest submission
-- that is not held back (accepted by the gate or on review, or still pending).
-- DISTINCT ON keeps PostgreSQL's row estimate right (see int_submissions_published).
select distinct on (submissions.unit_code, submissions.year, submissions.quarter)
    submissions.*
from {{ ref('int_submissions_enriched') }} as submissions
left join {{ ref('int_submission_decisions') }} as decisions on decisions.file_id = submissions.file_id
where decisions.decision is null or decisions.decision = 'accepted'
order by submissions.unit_code, submissions.year, submissions.quarter, submissions.file_id desc

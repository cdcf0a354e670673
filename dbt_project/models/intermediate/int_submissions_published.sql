{{ config(tags=['publish']) }}

-- The version BI sees for each unit-quarter: its latest submission the gate accepted.
-- A newer submission that was held back leaves the previous accepted one published.
-- DISTINCT ON rather than a row_number() filter: PostgreSQL estimates it from the number of
-- unit-quarters, while `rank = 1` is guessed at 0.5 % of the rows and leads the incremental
-- marts into nested loops over millions of figures.
select distinct on (submissions.unit_code, submissions.year, submissions.quarter)
    submissions.*,
    gate.gate_seq,
    gate.decided_at
from {{ ref('int_submissions_enriched') }} as submissions
join {{ ref('stg_audit__submission_gate') }} as gate
    on gate.file_id = submissions.file_id and gate.decision = 'accepted'
order by submissions.unit_code asc, submissions.year asc, submissions.quarter asc, {{ submission_precedence('submissions') }}

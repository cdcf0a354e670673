{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['unit_code', 'year', 'quarter'],
          on_schema_change='sync_all_columns', tags=['publish'], post_hook="{{ remove_unpublished_groups() }}",
          indexes=[{'columns': ['unit_code', 'year', 'quarter'], 'unique': True}, {'columns': ['file_id']}]) }}

-- A table, not a view: every incremental mart reads it (changed_publications(), the roll-up twice), and so
-- do its three data tests, which ran before the roll-up could start. As a view each read sorted every
-- submission again (a 16 MB sort on disk on a 55,559-file history); built once it is read by its keys.

-- The version BI sees for each unit-quarter: its latest submission that stands accepted (by
-- the gate, or by the data team's review). A newer submission that was held back or rejected
-- on review leaves the previous accepted one published.
-- DISTINCT ON rather than a row_number() filter: PostgreSQL estimates it from the number of
-- unit-quarters, while `rank = 1` is guessed at 0.5 % of the rows and leads the incremental
-- marts into nested loops over millions of figures (the decision is read from a table with
-- statistics for the same reason, see int_submission_outcomes).
-- gate_seq is the sequence of the decision (gate or review) behind this version: the
-- incremental marts' watermark.
-- Incremental: a build redoes the unit-quarters with a decision or a review since the table's highest
-- gate_seq (decision_seq: their shared sequence), and removes those left with no accepted version (a
-- review rejected it). Every unit-quarter is redone unless the project and the registry are those of the
-- last publication (the var the nightly job sets: its columns are int_submissions_enriched's).
{%- set outcomes = ref('int_submission_outcomes') %}
{%- set redo_groups = is_incremental() and var('same_project_and_registry', false) %}
{%- if redo_groups %}
with changed as materialized (
    select distinct unit_code, year, quarter from {{ outcomes }}
    where decision_seq > {{ incremental_watermark('gate_seq') }}
)
{%- endif %}
select distinct on (submissions.unit_code, submissions.year, submissions.quarter)
    submissions.*,
    outcomes.decision_seq as gate_seq,
    outcomes.decided_at,
    (outcomes.review_decision is not distinct from 'accept') as is_review_accepted
from {{ ref('int_submissions_enriched') }} as submissions
join {{ outcomes }} as outcomes
    on outcomes.file_id = submissions.file_id and outcomes.decision = 'accepted'
{%- if redo_groups %}
where (submissions.unit_code, submissions.year, submissions.quarter) in (select changed.unit_code, changed.year, changed.quarter from changed)
{%- endif %}
order by submissions.unit_code asc, submissions.year asc, submissions.quarter asc, {{ submission_precedence('submissions') }}

{{ config(materialized='table', tags=['pre_gate']) }}

-- Figures of submissions the gate has not decided yet, as of this build (the gate's batch is taken from here).
-- No index: the gate reads the table whole (as its batch) and nothing else reads it. Two indexes cost about a second
-- of a national quarter's build; the planner used one twice in a 551-file night, neither on a national quarter.
with undecided as (
    select submissions.*
    from {{ ref('int_submissions_enriched') }} as submissions
    where not exists (
        select 1 from {{ ref('stg_audit__submission_gate') }} as gate where gate.file_id = submissions.file_id
    )
)

{{ enriched_facts('undecided') }}

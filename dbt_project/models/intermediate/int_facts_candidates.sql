{{ config(materialized='table', tags=['pre_gate'],
          indexes=[{'columns': ['file_id', 'indicator_code']}, {'columns': ['file_id', 'own_indicator_code']}]) }}

-- Figures of submissions the gate has not decided yet, as of this build (the gate's batch is taken from here).
with undecided as (
    select submissions.*
    from {{ ref('int_submissions_enriched') }} as submissions
    where not exists (
        select 1 from {{ ref('stg_audit__submission_gate') }} as gate where gate.file_id = submissions.file_id
    )
)

{{ enriched_facts('undecided') }}

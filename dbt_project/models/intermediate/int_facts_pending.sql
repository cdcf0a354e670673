{{ config(tags=['pre_gate']) }}

-- The Great Expectations batch: candidates still undecided right now. A rerun after the gate
-- has decided sees nothing, so evaluating twice cannot happen.
select candidates.*
from {{ ref('int_facts_candidates') }} as candidates
where not exists (
    select 1 from {{ ref('stg_audit__submission_gate') }} as gate where gate.file_id = candidates.file_id
)

{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='file_id',
          on_schema_change='fail', tags=['pre_gate', 'publish'], post_hook="{{ record_inputs([]) }}",
          indexes=[{'columns': ['file_id'], 'unique': True}, {'columns': ['unit_code', 'year', 'quarter']}]) }}

-- The standing decision of every decided submission (int_submission_decisions) as a table, so
-- PostgreSQL plans the published versions and the history basis from real statistics of
-- `decision`: through the view it is a CASE expression, guessed at 0.5 % of the rows, and the
-- marts fall into nested loops over millions of figures. Brought up to date by the pre-gate and the
-- publish builds (reviews recorded in between reach it at the next build; the view stays live).
-- Incremental: a build redoes the files decided since the table's highest decision_seq, and those whose
-- file version a review since then names (gate decisions and reviews share one sequence). Every file
-- is redone when this model changed since the table was last built.
{%- set gate, files, reviews = ref('stg_audit__submission_gate'), ref('stg_raw__files'), ref('stg_audit__submission_review') %}
select
    file_id,
    unit_code,
    year,
    quarter,
    content_hash,
    gate_seq,
    decision,
    decision_seq,
    decided_at,
    review_decision
from {{ ref('int_submission_decisions') }}
{%- if is_incremental() and inputs_as_recorded([]) %}
{%- set watermark = incremental_watermark('decision_seq') %}
where file_id in (
    select gate.file_id from {{ gate }} as gate where gate.gate_seq > {{ watermark }}
    union all
    select files.file_id
    from {{ reviews }} as reviews
    join {{ files }} as files
        on files.unit_code = reviews.unit_code and files.year = reviews.year and files.quarter = reviews.quarter
       and files.content_hash = reviews.content_hash
    where reviews.decision_seq > {{ watermark }}
)
{%- endif %}

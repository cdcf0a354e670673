{{ config(materialized='table', tags=['pre_gate', 'publish'],
          indexes=[{'columns': ['file_id'], 'unique': True}, {'columns': ['unit_code', 'year', 'quarter']}]) }}

-- The standing decision of every decided submission (int_submission_decisions) as a table, so
-- PostgreSQL plans the published versions and the history basis from real statistics of
-- `decision`: through the view it is a CASE expression, guessed at 0.5 % of the rows, and the
-- marts fall into nested loops over millions of figures. Rebuilt by the pre-gate and the publish
-- builds (reviews recorded in between reach it at the next build; the view stays live).
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

{{ config(tags=['publish']) }}

-- Figures of the published submissions, each with the warning rules that flagged it.
with facts as (
    {{ enriched_facts(ref('int_submissions_published'), ['gate_seq', 'period_key', 'content_hash', 'source_path']) }}
)

select
    facts.*,
    coalesce((
        select array_agg(distinct dq.rule_id order by dq.rule_id)
        from {{ ref('stg_audit__dq_results') }} as dq
        where dq.file_id = facts.file_id
          and dq.severity = 'warning'
          and dq.status = 'fail'
          and dq.sheet = facts.sheet
          and facts.row_number = any(dq.checked_rows)
    ), array[]::text[]) as dq_warnings
from facts

{{ config(tags=['publish']) }}

-- Figures of the published submissions, each with the warning rules that flagged it.
with facts as (
    {{ enriched_facts(ref('int_submissions_published'), ['gate_seq', 'period_key', 'content_hash', 'source_path']) }}
),

-- Failed warnings are few: aggregate them once and hash-join, instead of probing the
-- (ever-growing) DQ history once per figure.
warnings as (
    select
        dq.file_id,
        dq.sheet,
        checked.row_number,
        array_agg(distinct dq.rule_id order by dq.rule_id) as dq_warnings
    from {{ ref('stg_audit__dq_results') }} as dq
    cross join lateral unnest(dq.checked_rows) as checked (row_number)
    where dq.severity = 'warning'
      and dq.status = 'fail'
    group by dq.file_id, dq.sheet, checked.row_number
)

select
    facts.*,
    coalesce(warnings.dq_warnings, array[]::text[]) as dq_warnings
from facts
left join warnings
    on warnings.file_id = facts.file_id
   and warnings.sheet = facts.sheet
   and warnings.row_number = facts.row_number

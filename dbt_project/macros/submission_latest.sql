{#- Every unit-quarter that sent something, with the state of its latest file version: the one
    definition of a submission's state (int_submission_latest is this whole; fct_submission_status reads
    it for the unit-quarters it rebuilds). `unit_quarters`: a relation or CTE of (unit_code, year,
    quarter) to compute it for alone. Filtered afterwards instead, it was computed whole first: its
    CTEs are read twice, so PostgreSQL materializes them and cannot push a filter into them (0.56 s
    of a 1 % rerun of a 55 k-file history, growing with the history, for a few hundred rows). -#}
{% macro submission_latest(unit_quarters=none) -%}
with files as (
    select files.*, coalesce(files.modified_at, files.loaded_at) as received_at
    from {{ ref('stg_raw__files') }} as files
    where files.unit_code is not null and files.year is not null
    {%- if unit_quarters %}
      and (files.unit_code, files.year, files.quarter) in (select unit_code, year, quarter from {{ unit_quarters }})
    {%- endif %}
),

decisions as (
    select * from {{ ref('int_submission_decisions') }} as decisions
    {%- if unit_quarters %}
    where (decisions.unit_code, decisions.year, decisions.quarter) in (select unit_code, year, quarter
                                                                       from {{ unit_quarters }})
    {%- endif %}
),

versions as (
    select
        files.unit_code,
        files.year,
        files.quarter,
        count(*)                                                              as version_count,
        max(files.file_id)                                                    as latest_file_id,
        min(files.received_at)                                                as first_received_at,
        max(files.received_at)                                                as last_received_at,
        min(files.received_at) filter (where decisions.decision = 'accepted') as first_accepted_received_at
    from files
    left join decisions on decisions.file_id = files.file_id
    group by files.unit_code, files.year, files.quarter
)

select
    versions.*,
    latest.source_path,
    latest.content_hash,
    latest.load_status,
    latest.reject_message,
    decisions.gate_decision,
    decisions.error_count,
    decisions.warning_count,
    decisions.decision_seq,
    decisions.review_id,
    decisions.review_decision,
    decisions.review_reason,
    decisions.reviewed_by,
    decisions.reviewed_at,
    case
        when latest.load_status = 'rejected' then 'rejected'
        when decisions.file_id is null then 'pending'
        when decisions.review_decision = 'accept' then 'review_accepted'
        when decisions.review_decision = 'reject' then 'review_rejected'
        when decisions.gate_decision = 'held' then 'held'
        when decisions.warning_count > 0 then 'accepted_with_warnings'
        else 'accepted'
    end as state
from versions
join files as latest on latest.file_id = versions.latest_file_id
left join decisions on decisions.file_id = versions.latest_file_id
{%- endmacro %}

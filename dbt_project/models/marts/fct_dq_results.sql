{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          indexes=[{'columns': ['dq_result_id'], 'unique': True},
                                                {'columns': ['unit_code', 'year', 'quarter']}]) }}

-- The data-quality history, as BI reads it: every rule evaluation of every run.
select
    dq.dq_result_id,
    dq.run_id,
    dq.evaluated_at,
    dq.unit_code,
    dq.year,
    dq.quarter,
    (dq.year || '-Q' || dq.quarter)::text as period_key,
    dq.rule_id,
    dq.rule_kind,
    dq.severity,
    dq.status,
    dq.indicator_code,
    dq.form,
    dq.sheet,
    dq.row_number,
    dq.observed,
    dq.expected,
    dq.message,
    dq.file_id,
    dq.content_hash
from {{ ref('stg_audit__dq_results') }} as dq
{% if is_incremental() %}
-- a literal (macros/changed_publications.sql): the id index then reads tonight's results only
where dq.dq_result_id > {{ incremental_watermark('dq_result_id') }}
{% endif %}

{{ config(materialized='incremental', incremental_strategy='delete+insert', on_schema_change='fail',
          unique_key=['unit_code', 'year', 'quarter', 'rule_kind', 'severity'],
          indexes=[{'columns': ['last_dq_result_id']}]) }}

-- Data quality over time: failures per unit, per rule kind, per quarter, and how the latest
-- evaluation of each came out. Incremental: only unit-quarters with new evaluations are redone.
with touched as (
    select distinct unit_code, year, quarter
    from {{ ref('fct_dq_results') }}
    where unit_code is not null and year is not null
    {% if is_incremental() %}
      -- a literal (macros/changed_publications.sql): the id index then reads tonight's results only
      and dq_result_id > {{ incremental_watermark('last_dq_result_id') }}
    {% endif %}
),

runs as (
    select dq.unit_code, dq.year, dq.quarter, dq.rule_kind, dq.severity, dq.run_id,
           count(*) as evaluations,
           count(*) filter (where dq.status = 'fail') as failures,
           max(dq.evaluated_at) as evaluated_at,
           max(dq.dq_result_id) as last_dq_result_id
    {%- if is_incremental() %}
    -- The results of each unit-quarter a night touched, read through their (unit, year, quarter) index one
    -- unit-quarter at a time: a join let the planner, which cannot tell how few they are, scan every result
    -- of the history, and arrays of units, years and quarters read every quarter of the units touched.
    from ({{ per_changed_group(ref('fct_dq_results'), 'touched') }}) as dq
    {%- else %}
    from {{ ref('fct_dq_results') }} as dq
    join touched on touched.unit_code = dq.unit_code and touched.year = dq.year and touched.quarter = dq.quarter
    {%- endif %}
    group by 1, 2, 3, 4, 5, 6
),

ranked as (
    select runs.*, row_number() over (partition by unit_code, year, quarter, rule_kind, severity
                                      order by evaluated_at desc, run_id desc) as recency
    from runs
)

select
    unit_code,
    year,
    quarter,
    (year || '-Q' || quarter)::text                  as period_key,
    rule_kind,
    severity,
    count(*)::bigint                                 as runs,
    sum(evaluations)::bigint                         as evaluations,
    sum(failures)::bigint                            as failures,
    max(failures) filter (where recency = 1)::bigint as failures_in_latest_run,
    min(evaluated_at)                                as first_evaluated_at,
    max(evaluated_at)                                as last_evaluated_at,
    max(last_dq_result_id)::bigint                   as last_dq_result_id
from ranked
group by unit_code, year, quarter, rule_kind, severity

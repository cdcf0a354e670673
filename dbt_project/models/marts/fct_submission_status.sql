{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['unit_code', 'year', 'quarter'], on_schema_change='fail',
          pre_hook="{{ remove_all_unless_same_inputs() }}",
          indexes=[{'columns': ['unit_code', 'year', 'quarter'], 'unique': True},
                   {'columns': ['year', 'quarter', 'state']}]) }}

-- Where every unit stands for every quarter: the data team's worklist. One row per unit the
-- registry expects for a quarter (and per unit that sent something anyway), with the state of
-- its latest submission, the version behind it, when it came in against the Nghị định 09
-- deadline, and what the gate or the data team decided about it.
-- Incremental per unit-quarter: a row changes only when its unit sends a file or a decision (the
-- gate's or a review) is taken on one of its files; a quarter's first file brings the rows of every
-- unit expected for it. The registry (names, levels, who is expected) and the project (due dates)
-- change every row: then the whole table is built again (var same_project_and_registry, set by
-- ingestion/pipeline/publish.py; the pre-hook empties it first).
-- depends_on: {{ ref('stg_audit__submission_gate') }}
-- depends_on: {{ ref('stg_audit__submission_review') }}
-- depends_on: {{ ref('int_submission_decisions') }}
with periods as (
    select periods.*
    from {{ ref('dim_period') }} as periods
    where exists (select 1 from {{ ref('stg_raw__files') }} as files
                  where files.year = periods.year and files.quarter = periods.quarter)
),

units as (
    select * from {{ ref('stg_raw__org_units') }}
),

levels as (
    select * from {{ ref('org_levels') }}
),

-- The units the unit_reported rule expects too: of a level expected to report, existing at the
-- quarter's end.
expected as (
    select units.unit_code, periods.year, periods.quarter
    from periods
    join units on {{ valid_on('units', 'periods.quarter_end') }}
    join levels on levels.level = units.unit_level and levels.expected_to_report
),

{%- set incremental = is_incremental() and var('same_project_and_registry', false) %}
{%- if incremental %}

-- Unit-quarters with a file or a decision since the last build (its literal watermarks), and every
-- unit-quarter of a quarter the table does not hold yet. That quarter is looked for once per quarter:
-- asked per expected unit, PostgreSQL once merged thousands of rows a quarter against as many of
-- the table's, every pair of them (500 million rows, 19-35 s on a 55 k-file history).
changed as materialized (
    select unit_code, year, quarter
    from {{ ref('stg_raw__files') }}
    where unit_code is not null and year is not null
      and file_id > {{ incremental_watermark('latest_file_id') }}
    union
    select files.unit_code, files.year, files.quarter
    from {{ ref('stg_raw__files') }} as files
    where files.unit_code is not null and files.year is not null
      and files.file_id in (select gate.file_id from {{ ref('stg_audit__submission_gate') }} as gate
                            where gate.gate_seq > {{ incremental_watermark('decision_seq') }})
    union
    select unit_code, year, quarter
    from {{ ref('stg_audit__submission_review') }}
    where decision_seq > {{ incremental_watermark('decision_seq') }}
    union
    select expected.unit_code, expected.year, expected.quarter
    from expected
    where (expected.year, expected.quarter) in (
        select periods.year, periods.quarter
        from periods
        where not exists (select 1 from {{ this }} as built
                          where built.year = periods.year and built.quarter = periods.quarter)
    )
),

-- The latest version of the changed unit-quarters alone. Filtered from int_submission_latest, the view
-- was computed whole first (its CTEs are read twice; 0.56 s of a 1 % rerun of a 55 k-file history), and
-- read per unit-quarter (lateral) it was computed whole once per unit-quarter (35 s).
latest as (
    {{ submission_latest('changed') }}
),

-- The expected unit-quarters among the changed ones (all of them are read only to find the new quarters).
expected_changed as (
    select expected.*
    from expected
    where (expected.unit_code, expected.year, expected.quarter) in (select changed.unit_code, changed.year, changed.quarter
                                                                    from changed)
),
{%- else %}

latest as (
    select * from {{ ref('int_submission_latest') }}
),

expected_changed as (
    select * from expected
),
{%- endif %}

unit_quarters as (
    select coalesce(expected.unit_code, versions.unit_code) as unit_code,
           coalesce(expected.year, versions.year)           as year,
           coalesce(expected.quarter, versions.quarter)     as quarter,
           (expected.unit_code is not null)                 as is_expected
    from expected_changed as expected
    full join latest as versions
        on versions.unit_code = expected.unit_code
       and versions.year = expected.year
       and versions.quarter = expected.quarter
    {%- if incremental %}
    where (coalesce(expected.unit_code, versions.unit_code), coalesce(expected.year, versions.year),
           coalesce(expected.quarter, versions.quarter)) in (select changed.unit_code, changed.year, changed.quarter
                                                              from changed)
    {%- endif %}
),

failed_rules as (
    select
        dq.file_id,
        array_agg(distinct dq.rule_id order by dq.rule_id) filter (where dq.severity = 'error')   as error_rules,
        array_agg(distinct dq.rule_id order by dq.rule_id) filter (where dq.severity = 'warning') as warning_rules,
        min(dq.message) filter (where dq.severity = 'error')                                      as first_error_message,
        min(dq.message) filter (where dq.severity = 'warning')                                    as first_warning_message
    from {{ ref('stg_audit__dq_results') }} as dq
    where dq.status = 'fail'
      and dq.file_id in (select latest.latest_file_id from latest)
    group by dq.file_id
),

published as (
    {%- if incremental %}
    select published.unit_code, published.year, published.quarter, published.file_id
    from ({{ per_changed_group(ref('int_submissions_published'), 'changed') }}) as published
    {%- else %}
    select unit_code, year, quarter, file_id from {{ ref('int_submissions_published') }}
    {%- endif %}
),

lineage as (
    select unit_code, min(current_province_code) as province_code
    from {{ ref('int_org_units_lineage') }}
    group by unit_code
),

states as (
    select
        unit_quarters.*,
        latest.version_count,
        latest.latest_file_id,
        latest.first_received_at,
        latest.last_received_at,
        latest.first_accepted_received_at,
        latest.source_path,
        latest.content_hash,
        latest.reject_message,
        latest.gate_decision,
        latest.error_count,
        latest.warning_count,
        latest.decision_seq,
        latest.review_id,
        latest.review_decision,
        latest.review_reason,
        latest.reviewed_by,
        latest.reviewed_at,
        failed_rules.error_rules,
        failed_rules.warning_rules,
        failed_rules.first_error_message,
        failed_rules.first_warning_message,
        published.file_id as published_file_id,
        coalesce(latest.state, 'missing') as state
    from unit_quarters
    left join latest
        on latest.unit_code = unit_quarters.unit_code
       and latest.year = unit_quarters.year
       and latest.quarter = unit_quarters.quarter
    left join failed_rules on failed_rules.file_id = latest.latest_file_id
    left join published
        on published.unit_code = unit_quarters.unit_code
       and published.year = unit_quarters.year
       and published.quarter = unit_quarters.quarter
)

select
    states.unit_code,
    units.unit_name,
    units.unit_level,
    units.parent_code,
    parents.unit_name                                          as parent_name,
    lineage.province_code,
    states.year,
    states.quarter,
    periods.period_key,
    periods.report_due_date                                    as due_date,
    states.is_expected,
    states.state,
    case states.state
        when 'missing' then 'Chưa gửi'
        when 'rejected' then 'Tệp bị từ chối'
        when 'pending' then 'Chờ kiểm tra'
        when 'held' then 'Tạm giữ'
        when 'review_accepted' then 'Chấp nhận sau xem xét'
        when 'review_rejected' then 'Bị từ chối khi xem xét'
        when 'accepted_with_warnings' then 'Chấp nhận, có cảnh báo'
        else 'Chấp nhận'
    end::text                                                  as state_label_vi,
    case states.state
        when 'rejected' then states.reject_message
        when 'held' then states.first_error_message
        when 'accepted_with_warnings' then states.first_warning_message
        when 'review_accepted' then states.review_reason
        when 'review_rejected' then states.review_reason
    end::text                                                  as state_reason,
    (states.published_file_id is not null)                     as is_reporting,
    coalesce(states.first_accepted_received_at::date <= periods.report_due_date, false) as is_on_time,
    (coalesce(states.first_accepted_received_at, states.first_received_at)::date
        > periods.report_due_date)                             as is_late,
    case when states.first_received_at is not null then
        greatest(0, coalesce(states.first_accepted_received_at, states.first_received_at)::date
                    - periods.report_due_date)
    end::integer                                               as days_late,
    states.version_count::integer                              as version_count,
    states.latest_file_id,
    states.source_path,
    states.content_hash,
    states.first_received_at,
    states.last_received_at,
    states.first_accepted_received_at,
    states.gate_decision,
    coalesce(states.error_count, 0)::integer                   as error_count,
    coalesce(states.warning_count, 0)::integer                 as warning_count,
    coalesce(states.error_rules, array[]::text[])              as error_rules,
    coalesce(states.warning_rules, array[]::text[])            as warning_rules,
    states.review_id,
    states.review_decision,
    states.reviewed_by,
    states.reviewed_at,
    states.published_file_id,
    states.decision_seq
from states
join periods on periods.year = states.year and periods.quarter = states.quarter
left join units on units.unit_code = states.unit_code
left join units as parents on parents.unit_code = units.parent_code
left join lineage on lineage.unit_code = states.unit_code

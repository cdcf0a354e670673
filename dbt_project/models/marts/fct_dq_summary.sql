

-- Data quality over time: failures per unit, per rule kind, per quarter, and how the latest
-- evaluation of each came out.
with runs as (
    select unit_code, year, quarter, rule_kind, severity, run_id,
           count(*) as evaluations,
           count(*) filter (where status = 'fail') as failures,
           max(evaluated_at) as evaluated_at
    from {{ ref('fct_dq_results') }}
    where unit_code is not null and year is not null
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
    (year || '-Q' || quarter)::text as period_key,
    rule_kind,
    severity,
    count(*)::bigint                                 as runs,
    sum(evaluations)::bigint                         as evaluations,
    sum(failures)::bigint                            as failures,
    max(failures) filter (where recency = 1)::bigint as failures_in_latest_run,
    min(evaluated_at)                                as first_evaluated_at,
    max(evaluated_at)                                as last_evaluated_at
from ranked
group by unit_code, year, quarter, rule_kind, severity

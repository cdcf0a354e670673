

-- Reporting rate and timeliness per province and quarter (as DHIS2 reports completeness):
-- units the registry expects for the quarter, how many sent a workbook, how many on time,
-- how many are published.
with quarters as (
    select distinct periods.*
    from {{ ref('stg_raw__files') }} as files
    join {{ ref('dim_period') }} as periods on periods.year = files.year and periods.quarter = files.quarter
),

expected as (
    select quarters.period_key, quarters.year, quarters.quarter, quarters.report_due_date, units.unit_code,
           lineage.current_province_code as province_code
    from quarters
    join {{ ref('stg_raw__org_units') }} as units
        on (units.valid_from is null or units.valid_from <= quarters.quarter_end)
       and (units.valid_to is null or units.valid_to >= quarters.quarter_end)
    left join (
        select unit_code, min(current_province_code) as current_province_code
        from {{ ref('int_org_units_lineage') }} group by unit_code
    ) as lineage on lineage.unit_code = units.unit_code
),

sent as (
    select unit_code, year, quarter, min(modified_at) as first_sent_at, bool_or(load_status = 'loaded') as any_loaded
    from {{ ref('stg_raw__files') }}
    group by unit_code, year, quarter
),

published as (
    select unit_code, year, quarter from {{ ref('int_submissions_published') }}
)

select
    expected.province_code,
    expected.year,
    expected.quarter,
    expected.period_key,
    count(*)::bigint                                                              as expected_units,
    count(sent.unit_code)::bigint                                                 as reporting_units,
    count(*) filter (where sent.first_sent_at::date <= expected.report_due_date)::bigint as on_time_units,
    count(published.unit_code)::bigint                                            as published_units,
    round(100.0 * count(sent.unit_code) / count(*), 2)                            as reporting_rate,
    round(100.0 * count(*) filter (where sent.first_sent_at::date <= expected.report_due_date) / count(*), 2) as timeliness_rate
from expected
left join sent
    on sent.unit_code = expected.unit_code and sent.year = expected.year and sent.quarter = expected.quarter
left join published
    on published.unit_code = expected.unit_code and published.year = expected.year and published.quarter = expected.quarter
group by expected.province_code, expected.year, expected.quarter, expected.period_key

-- Reporting rate and timeliness per province and quarter (as DHIS2 reports completeness):
-- units the registry expects for the quarter and how many of them report. A unit reports
-- only when it has an accepted submission (by the gate or on review); held, rejected and
-- missing reports do not count. On time: that accepted version came in by the due date.
with status as (
    select * from {{ ref('fct_submission_status') }}
    where is_expected
)

select
    province_code,
    year,
    quarter,
    period_key,
    count(*)::bigint                                                        as expected_units,
    count(*) filter (where is_reporting)::bigint                            as reporting_units,
    count(*) filter (where is_on_time)::bigint                              as on_time_units,
    count(*) filter (where is_reporting)::bigint                            as published_units,
    count(*) filter (where state <> 'missing')::bigint                      as sent_units,
    count(*) filter (where state = 'held')::bigint                          as held_units,
    count(*) filter (where state in ('rejected', 'review_rejected'))::bigint as rejected_units,
    count(*) filter (where state = 'missing')::bigint                       as missing_units,
    {{ recomputed_rate('count(*) filter (where is_reporting)', 'count(*)') }} as reporting_rate,
    {{ recomputed_rate('count(*) filter (where is_on_time)', 'count(*)') }}   as timeliness_rate
from status
group by province_code, year, quarter, period_key

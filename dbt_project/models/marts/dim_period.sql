

-- Quarters with the Nghị định 09 reporting window: from the 15th of the month before the
-- quarter to the 14th of the quarter's last month.
with quarters as (
    select year::integer as year, quarter::integer as quarter
    from generate_series(2015, 2035) as year
    cross join generate_series(1, 4) as quarter
)

select
    (year || '-Q' || quarter)::text                                             as period_key,
    year,
    quarter,
    ('Quý ' || (array['I', 'II', 'III', 'IV'])[quarter] || '/' || year)::text  as period_label_vi,
    make_date(year, quarter * 3 - 2, 1)                                         as quarter_start,
    (make_date(year, quarter * 3 - 2, 1) + interval '3 months' - interval '1 day')::date as quarter_end,
    (make_date(year, quarter * 3 - 2, 15) - interval '1 month')::date           as cutoff_start,
    make_date(year, quarter * 3, 14)                                            as cutoff_end,
    (make_date(year, quarter * 3, 14) + {{ var('report_due_days') }})::date     as report_due_date,
    (year > 2025 or (year = 2025 and quarter >= 3))                             as is_two_level_government
from quarters

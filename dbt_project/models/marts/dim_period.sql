{{ config(meta={'keep_when_unchanged': true}) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).
-- Quarters with the Nghị định 09 reporting window: from the 15th of the month before the
-- quarter to the 14th of the quarter's last month (macros/periods.sql, shared with the rules).
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
    {{ quarter_start('year', 'quarter') }}                                         as quarter_start,
    {{ quarter_end('year', 'quarter') }}  as quarter_end,
    {{ cutoff_start('year', 'quarter') }}                   as cutoff_start,
    {{ cutoff_end('year', 'quarter') }}                                            as cutoff_end,
    ({{ cutoff_end('year', 'quarter') }} + {{ var('report_due_days') }})::date     as report_due_date,
    (year > 2025 or (year = 2025 and quarter >= 3))                             as is_two_level_government
from quarters

{{ config(materialized='table') }}

-- one figure per unit, quarter and indicator (the file's first row for it)
with facts as (
    select * from {{ ref('stg_facts') }} where indicator is not null
),

ranked as (
    select
        *,
        row_number() over (partition by unit_code, period, indicator order by file desc, row_number) as rn
    from facts
)

select unit_code, period, indicator, value, file, sheet, row_number
from ranked
where rn = 1

{{ config(materialized='table', meta={'keep_when_unchanged': true}, tags=['publish']) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).

-- Where each unit's figures go today: follow the dated reorganisation mapping to the end
-- (a commune merged in 2025, a district abolished into its province, a province merged),
-- multiplying weights along the way. Units never mapped are their own successor.
with recursive mapped as (
    select old_unit_code as unit_code, new_unit_code as successor_code, weight, 1 as depth
    from {{ ref('stg_raw__unit_mapping') }}
    union all
    select mapped.unit_code, next_step.new_unit_code, mapped.weight * next_step.weight, mapped.depth + 1
    from mapped
    join {{ ref('stg_raw__unit_mapping') }} as next_step on next_step.old_unit_code = mapped.successor_code
    where mapped.depth < 10
),

final_successors as (
    select unit_code, successor_code, sum(weight) as weight
    from mapped
    where not exists (
        select 1 from {{ ref('stg_raw__unit_mapping') }} as later where later.old_unit_code = mapped.successor_code
    )
    group by unit_code, successor_code
),

lineage as (
    select units.unit_code, coalesce(final_successors.successor_code, units.unit_code) as current_unit_code,
           coalesce(final_successors.weight, 1) as weight
    from {{ ref('stg_raw__org_units') }} as units
    left join final_successors on final_successors.unit_code = units.unit_code
),

province_of as (
    select descendants.descendant_code as unit_code, descendants.unit_code as province_code
    from {{ ref('int_org_units_descendants') }} as descendants
    join {{ ref('stg_raw__org_units') }} as ancestor
        on ancestor.unit_code = descendants.unit_code and ancestor.unit_level = 'province'
)

select
    lineage.unit_code,
    lineage.current_unit_code,
    lineage.weight,
    current_unit.unit_level as current_unit_level,
    coalesce(case when current_unit.unit_level = 'province' then current_unit.unit_code end,
             province_of.province_code) as current_province_code
from lineage
join {{ ref('stg_raw__org_units') }} as current_unit on current_unit.unit_code = lineage.current_unit_code
left join province_of on province_of.unit_code = lineage.current_unit_code

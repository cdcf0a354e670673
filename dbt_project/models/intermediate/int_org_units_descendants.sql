{{ config(materialized='table', meta={'keep_when_unchanged': true}, tags=['pre_gate'], indexes=[{'columns': ['unit_code', 'descendant_level']}]) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).

-- Every (ancestor, descendant) pair of the registry, at any depth.
with recursive tree as (
    select parent_code as ancestor_code, unit_code as descendant_code, 1 as depth
    from {{ ref('stg_raw__org_units') }}
    where parent_code is not null
    union all
    select tree.ancestor_code, units.unit_code, tree.depth + 1
    from tree
    join {{ ref('stg_raw__org_units') }} as units on units.parent_code = tree.descendant_code
    where tree.depth < 10
)

select
    tree.ancestor_code   as unit_code,
    tree.descendant_code,
    descendant.unit_level as descendant_level,
    descendant.valid_from,
    descendant.valid_to,
    tree.depth
from tree
join {{ ref('stg_raw__org_units') }} as descendant on descendant.unit_code = tree.descendant_code

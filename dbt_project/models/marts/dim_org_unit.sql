{{ config(meta={'keep_when_unchanged': true}) }}
-- Made again only when its SQL or what it reads changed (macros/relations_kept.sql).
-- Every version of every unit of the registry (SCD type 2 from the snapshot), with where its
-- figures roll up today.
select
    snapshot.unit_code,
    snapshot.unit_name,
    snapshot.unit_level,
    snapshot.unit_type,
    snapshot.parent_code,
    snapshot.valid_from,
    snapshot.valid_to,
    lineage.current_unit_code,
    lineage.current_province_code,
    snapshot.dbt_valid_from::timestamp as record_valid_from,
    snapshot.dbt_valid_to::timestamp   as record_valid_to,
    (snapshot.dbt_valid_to is null)    as is_current_record
from {{ ref('snap_org_units') }} as snapshot
left join (
    select unit_code, min(current_unit_code) as current_unit_code, min(current_province_code) as current_province_code
    from {{ ref('int_org_units_lineage') }}
    group by unit_code
) as lineage on lineage.unit_code = snapshot.unit_code

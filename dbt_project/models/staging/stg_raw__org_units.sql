select
    unit_code,
    name        as unit_name,
    level       as unit_level,
    unit_type,
    parent_code,
    valid_from,
    valid_to,
    source_hash as registry_hash
from {{ source('raw', 'org_units') }}

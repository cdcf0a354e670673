select
    old_code       as old_unit_code,
    new_code       as new_unit_code,
    weight::numeric as weight,
    effective_date
from {{ source('raw', 'unit_mapping') }}

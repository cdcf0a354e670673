select
    file_id,
    paragraph_number,
    position,
    sentence,
    indicator  as indicator_code,
    scope,
    value,
    raw_value,
    kind,
    comparable,
    coalesce(levels, '') as levels,
    pattern    as pattern_id
from {{ source('raw', 'narrative_figures') }}

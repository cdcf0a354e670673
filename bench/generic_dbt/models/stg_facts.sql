select
    file,
    split_part(file, '/', 1) as unit_code,
    split_part(file, '/', 2) as period,
    sheet,
    row_number,
    label,
    unit,
    value,
    indicator
from {{ source('generic', 'facts') }}

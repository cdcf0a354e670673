select
    file_id,
    sheet,
    row_number,
    col_number,
    form::integer as form,
    stt,
    label,
    unit_text,
    raw_value,
    value,
    numerator   as cell_numerator,
    denominator as cell_denominator,
    kind,
    indicator   as indicator_code,
    match       as match_method,
    note,
    legend
from {{ source('raw', 'facts') }}

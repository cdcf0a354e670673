select
    file_id,
    sheet,
    row_number,
    severity,
    code    as issue_code,
    message
from {{ source('raw', 'parse_issues') }}

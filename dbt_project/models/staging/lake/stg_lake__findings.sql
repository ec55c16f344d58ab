select
    file_id,
    module,
    "table" as lake_table,
    record_no,
    record_key,
    finding_class,
    detail
from {{ source('lake', 'findings') }}

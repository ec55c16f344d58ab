select
    file_id,
    module,
    -- "table" is a keyword: quoted on purpose
    "table" as lake_table,  -- noqa: RF06
    record_no,
    record_key,
    finding_class,
    detail
from {{ source('lake', 'findings') }}

select
    file_id,
    status,
    reason_class,
    reason,
    module,
    version,
    message_type,
    institutions,
    {{ as_date('period_from') }} as period_from,
    {{ as_date('period_to') }} as period_to,
    {{ as_date('extraction_date') }} as extraction_date,
    lopenr,
    findings as n_findings,
    path,
    ingested_at
from {{ source('lake', 'ledger') }}

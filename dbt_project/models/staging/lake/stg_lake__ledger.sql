select * from {{ source('lake', 'ledger') }}

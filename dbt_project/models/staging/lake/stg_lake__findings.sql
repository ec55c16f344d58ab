select * from {{ source('lake', 'findings') }}

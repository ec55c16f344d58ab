{#- One row per calendar day from 2000-01-01 to 2040-12-31. -#}
with days as (
    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2041-01-01' as date)") }}
)

select
    cast(date_day as date) as date_day,
    cast(extract(year from date_day) as integer) as year,
    cast(extract(quarter from date_day) as integer) as quarter,
    cast(extract(month from date_day) as integer) as month,
    -- NPR's tertials (RHF management data): Jan-Apr, May-Aug, Sep-Dec
    cast(floor((extract(month from date_day) - 1) / 4) + 1 as integer) as tertial,
    cast(extract(day from date_day) as integer) as day_of_month,
    cast(extract(isodow from date_day) as integer) as iso_day_of_week,
    cast(extract(isodow from date_day) >= 6 as boolean) as is_weekend
from days

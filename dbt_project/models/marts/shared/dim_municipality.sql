{#- One row per home municipality number (Episode/@komNrHjem) with its catchment HF and RHF of
    residence (boomr.csv), plus numbers the data uses that the list lacks (old numbers after
    mergers: a data-quality finding, kept as 'unknown' residence) and the unknown member. -#}
with listed as (
    select * from {{ ref('int_municipalities') }}
),

used as (
    select home_municipality as municipality_number from {{ ref('int_rt__attendances') }}
    union
    select home_municipality from {{ ref('int_imaging__examinations') }}
),

members as (
    select
        municipality_number, municipality_name, rhf_number, rhf_name, hf_number, hf_name,
        is_catchment_split, true as is_listed
    from listed
    union all
    select municipality_number, 'unknown', null, 'unknown', null, 'unknown', false, false
    from used
    where
        municipality_number is not null
        and municipality_number not in (select l.municipality_number from listed as l)
    union all
    select 'unknown', 'unknown', null, 'unknown', null, 'unknown', false, false
)

select
    cast(municipality_number as varchar) as municipality_number,
    cast(municipality_name as varchar) as municipality_name,
    cast(rhf_number as integer) as rhf_number,
    cast(rhf_name as varchar) as rhf_name,
    cast(hf_number as integer) as hf_number,
    cast(hf_name as varchar) as hf_name,
    cast(is_catchment_split as boolean) as is_catchment_split,
    cast(is_listed as boolean) as is_listed
from members

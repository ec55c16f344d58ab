{#- One row per municipality number (4 characters, leading zero) with its catchment HF and RHF
    (boomr.csv). Where a city is split into district catchments (Oslo, Bergen, Trondheim,
    Stavanger) and the message carries only the municipality, the HF that most districts belong
    to is chosen and the row is flagged; the RHF is the same for all districts. -#}
with districts as (
    select
        {{ dbt.right("'0000' || trim(komnr)", 4) }} as municipality_number,
        komnr_navn as municipality_name,
        borhf as rhf_number,
        borhf_navn as rhf_name,
        bohf as hf_number,
        bohf_navn as hf_name
    from {{ ref('municipality_catchment') }}
    where komnr is not null
),

hf_counts as (
    select
        municipality_number,
        municipality_name,
        rhf_number,
        rhf_name,
        hf_number,
        hf_name,
        count(*) as n_districts
    from districts
    group by municipality_number, municipality_name, rhf_number, rhf_name, hf_number, hf_name
),

ranked as (
    select
        *,
        count(*) over (partition by municipality_number) as n_catchment_hfs,
        row_number() over (
            partition by municipality_number order by n_districts desc, hf_number asc
        ) as hf_rank
    from hf_counts
)

select
    municipality_number,
    municipality_name,
    rhf_number,
    rhf_name,
    hf_number,
    hf_name,
    n_catchment_hfs > 1 as is_catchment_split
from ranked
where hf_rank = 1

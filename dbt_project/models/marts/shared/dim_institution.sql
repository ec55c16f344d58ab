{#- One row per organisation number: every 9-digit orgnr of behandler.csv, every institution or
    site orgnr the data uses that the list lacks (hierarchy 'unknown'), and the unknown member. -#}
with listed as (
    select * from {{ ref('int_organisation_units') }}
),

used as (
    select institution_orgnr as orgnr from {{ ref('int_rt__attendances') }}
    union
    select site_orgnr from {{ ref('int_rt__attendances') }}
    union
    select institution_orgnr from {{ ref('int_imaging__examinations') }}
    union
    select site_orgnr from {{ ref('int_imaging__examinations') }}
    union
    select institution_orgnr from {{ ref('int_imaging__doses') }}
    union
    select institution_orgnr from {{ ref('int_equipment') }}
    union
    select site_orgnr from {{ ref('int_equipment') }}
),

members as (
    select
        orgnr,
        name,
        orgnr as site_orgnr,
        site_number,
        site_name,
        hf_orgnr,
        hf_number,
        hf_name,
        rhf_number,
        rhf_name,
        is_private,
        location_municipality_number,
        true as is_listed
    from listed
    union all
    select
        orgnr,
        'unknown', orgnr, null, 'unknown', null, null, 'unknown', null, 'unknown', null, null,  -- noqa: AL08
        false
    from used
    where orgnr is not null and orgnr not in (select l.orgnr from listed as l)
    union all
    select
        'unknown', 'unknown', 'unknown', null, 'unknown', null, null, 'unknown', null, 'unknown', null, null,
        false
)

select
    cast(orgnr as varchar) as orgnr,
    cast(name as varchar) as name,
    cast(site_orgnr as varchar) as site_orgnr,
    cast(site_number as integer) as site_number,
    cast(site_name as varchar) as site_name,
    cast(hf_orgnr as varchar) as hf_orgnr,
    cast(hf_number as integer) as hf_number,
    cast(hf_name as varchar) as hf_name,
    cast(rhf_number as integer) as rhf_number,
    cast(rhf_name as varchar) as rhf_name,
    cast(is_private as boolean) as is_private,
    cast(location_municipality_number as varchar) as location_municipality_number,
    cast(is_listed as boolean) as is_listed
from members

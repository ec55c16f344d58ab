{#- One row per 9-digit orgnr of behandler.csv with its site, HF and RHF. The 10-digit
    radiotherapy-unit rows of the file are left out: the site_orgnr macro maps such numbers to
    their 9-digit site, which is listed. The HF's own orgnr is the row named like the HF. -#}
with organisations as (
    select
        trim(orgnr) as orgnr,
        org_navn as name,
        behsh as site_number,
        behsh_navn as site_name,
        behhf as hf_number,
        coalesce(behhf_navn, 'unknown') as hf_name,
        behhf_navnkort as hf_short_name,
        behrhf as rhf_number,
        coalesce(behrhf_navn, 'unknown') as rhf_name,
        behrhf_navnkort as rhf_short_name,
        behrhf = 5 as is_private
    from {{ ref('organisation_hierarchy') }}
    where orgnr is not null and {{ dbt.length('trim(orgnr)') }} = 9
),

hf_orgnrs as (
    select hf_number, min(orgnr) as hf_orgnr
    from organisations
    where not is_private and lower(name) = lower(hf_name)
    group by hf_number
)

select
    o.orgnr,
    o.name,
    o.site_number,
    o.site_name,
    o.hf_number,
    -- a private provider is its own legal unit
    case when o.is_private then o.orgnr else h.hf_orgnr end as hf_orgnr,
    o.hf_name,
    o.hf_short_name,
    o.rhf_number,
    o.rhf_name,
    o.rhf_short_name,
    o.is_private
from organisations as o
left join hf_orgnrs as h on h.hf_number = o.hf_number

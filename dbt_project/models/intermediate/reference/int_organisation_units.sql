{#- One row per 9-digit orgnr of behandler.csv with its site, HF and RHF. The 10-digit
    radiotherapy-unit rows of the file are left out: the site_orgnr macro maps such numbers to
    their 9-digit site, which is listed. The HF's own orgnr is the row named like the HF.
    Private providers (behrhf 5, "Private sykehus" in the file) are not pooled (docs/domain.md
    section 1): each is its own HF (hf_name = its name, made unique with the orgnr where several
    private orgnrs share a name) under the RHF whose area its municipality lies in (seed
    private_institute_locations -> municipality_catchment); one without a known location stays
    under 'Private sykehus'. -#}
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
),

private_names as (
    select
        orgnr,
        case
            when count(*) over (partition by lower(trim(name))) > 1 then trim(name) || ' (' || orgnr || ')'
            else trim(name)
        end as unique_name
    from organisations
    where is_private
),

private_locations as (
    select
        trim(l.orgnr) as orgnr,
        m.municipality_number,
        m.rhf_number,
        m.rhf_name
    from {{ ref('private_institute_locations') }} as l
    inner join {{ ref('int_municipalities') }} as m
        on m.municipality_number = {{ dbt.right("'0000' || trim(l.komnr)", 4) }}
)

select
    o.orgnr,
    o.name,
    o.site_number,
    o.site_name,
    case when o.is_private then null else o.hf_number end as hf_number,
    -- a private provider is its own legal unit
    case when o.is_private then o.orgnr else h.hf_orgnr end as hf_orgnr,
    case when o.is_private then p.unique_name else o.hf_name end as hf_name,
    case when o.is_private then p.unique_name else o.hf_short_name end as hf_short_name,
    case when o.is_private then coalesce(l.rhf_number, o.rhf_number) else o.rhf_number end as rhf_number,
    case when o.is_private then coalesce(l.rhf_name, o.rhf_name) else o.rhf_name end as rhf_name,
    case
        when o.is_private then coalesce(replace(l.rhf_name, ' RHF', ''), o.rhf_short_name)
        else o.rhf_short_name
    end as rhf_short_name,
    o.is_private,
    l.municipality_number as location_municipality_number
from organisations as o
left join hf_orgnrs as h on h.hf_number = o.hf_number
left join private_names as p on p.orgnr = o.orgnr
left join private_locations as l on l.orgnr = o.orgnr

{#- One row per piece of equipment (institution:utstyrID) from the Utstyr registers of all
    modules, plus equipment the facts refer to that no register lists (attributes unknown), one
    unknown member per institution ('<orgnr>:unknown') and the global unknown member. -#}
with registered as (
    select * from {{ ref('int_equipment') }}
),

referenced as (
    select equipment_id, institution_orgnr from {{ ref('int_rt__attendances') }}
    union
    select equipment_id, institution_orgnr from {{ ref('int_imaging__examinations') }}
    union
    select equipment_id, institution_orgnr from {{ ref('int_imaging__doses') }}
),

members as (
    select
        equipment_id, institution_orgnr, equipment_local_id, unit_id, site_orgnr, equipment_type,
        dicom_modality, manufacturer, model, local_name, true as is_registered
    from registered
    union all
    select
        equipment_id, institution_orgnr, null, null, null, 'unknown', null, null, null, null, false
    from referenced
    where equipment_id not in (select r.equipment_id from registered as r)
    union all
    select 'unknown', 'unknown', null, null, null, 'unknown', null, null, null, null, false
)

select
    cast(equipment_id as varchar) as equipment_id,
    cast(institution_orgnr as varchar) as institution_orgnr,
    cast(equipment_local_id as varchar) as equipment_local_id,
    cast(unit_id as varchar) as unit_id,
    cast(site_orgnr as varchar) as site_orgnr,
    cast(equipment_type as varchar) as equipment_type,
    cast(dicom_modality as varchar) as dicom_modality,
    cast(manufacturer as varchar) as manufacturer,
    cast(model as varchar) as model,
    cast(local_name as varchar) as local_name,
    cast(is_registered as boolean) as is_registered
from members

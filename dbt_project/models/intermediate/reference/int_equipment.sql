{#- One row per piece of equipment (institution, Utstyr/@utstyrID) across all modules' registers,
    in the version of the latest file that sent it, with the site of its unit. -#}
with ranked as (
    {{ latest_across_modules('equipment', 'equipment', ['equipment_local_id']) }}
)

select
    {{ natural_key(['r.institution_orgnr', 'r.equipment_local_id']) }} as equipment_id,
    r.institution_orgnr,
    r.equipment_local_id,
    r.unit_id,
    u.site_orgnr,
    r.equipment_type,
    r.dicom_modality,
    r.manufacturer,
    r.model,
    r.local_name,
    r.location,
    r.status,
    r.upgraded
from ranked as r
left join {{ ref('int_units') }} as u on u.institution_orgnr = r.institution_orgnr and u.unit_id = r.unit_id

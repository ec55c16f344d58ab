{#- One row per piece of equipment (institution, Utstyr/@utstyrID) across all modules' registers,
    in the version of the latest file that sent it, with the site of its unit. -#}
{%- set modules = ['str', 'raa', 'rad', 'ord'] %}
with equipment as (
    {%- for module in modules %}
    select e.*, f.extraction_date, f.file_seq
    from {{ ref('stg_npr_' ~ module ~ '__equipment') }} as e
    inner join {{ ref('stg_npr__files') }} as f
        on f.file_id = e.file_id and f.module = '{{ module }}' and f.institution_orgnr = e.institution_orgnr
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked as (
    {{ keep_first('equipment', ['institution_orgnr', 'equipment_local_id'], ['extraction_date desc', 'file_seq desc', 'file_id desc']) }}
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
where r.row_rank = 1

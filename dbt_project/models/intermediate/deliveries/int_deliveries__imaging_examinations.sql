{#- One row per examination (raa) or ZXM image-guided procedure (ord), with the attributes every
    imaging delivery groups by. The only place that knows the imaging marts' column names.
    An ord procedure that repeats a raa examination (docs/domain.md section 4) is left out here, once
    for every delivery: activity is counted once, and its dose is counted on the kept examination. -#}
with examinations as (
    select * from {{ ref('fct_imaging_examination') }}
),

institutions as (
    select * from {{ ref('dim_institution') }}
),

residence as (
    select * from {{ ref('dim_municipality') }}
)

select
    e.examination_id,
    e.source_module,
    cast(extract(year from e.examination_date) as integer) as year,
    cast(extract(month from e.examination_date) as integer) as month,
    e.examination_date,
    e.institution_orgnr,
    e.site_orgnr,
    e.equipment_id,
    {%- if delivery_param('drl_facility_level') == 'site' %}
    coalesce(e.site_orgnr, e.institution_orgnr) as facility_id,
    {%- else %}
    coalesce(
        e.equipment_id, coalesce(e.site_orgnr, e.institution_orgnr) || ':unknown-equipment'
    ) as facility_id,
    {%- endif %}
    coalesce(i.hf_name, 'unknown') as hf_name,
    coalesce(i.rhf_name, 'unknown') as rhf_name,
    coalesce(i.is_private, false) as is_private_provider,
    e.procedure_code,
    e.modality,
    coalesce(e.modality_group, 'unknown') as modality_group,
    coalesce(e.is_ionising, false) as is_ionising,
    coalesce(p.is_interventional, false) as is_interventional,
    e.person_key,
    e.age,
    {{ age_group('e.age') }} as age_group,
    coalesce(e.age >= {{ delivery_param('drl_adult_min_age') }}, false) as is_standard_adult,
    coalesce(e.sex, '9') as sex,
    coalesce(r.rhf_name, 'unknown') as residence_rhf_name
from examinations as e
left join institutions as i on i.orgnr = e.institution_orgnr
left join residence as r on r.municipality_number = e.home_municipality
left join {{ ref('dim_procedure') }} as p on p.procedure_code = e.procedure_code
where not e.is_double_reported

{#- One row per radiotherapy attendance (str Episode, current version after corrections). -#}
select
    cast(a.attendance_id as varchar) as attendance_id,
    cast(coalesce(a.series_id, 'unknown') as varchar) as series_id,
    cast(a.episode_id as varchar) as episode_id,
    cast(a.institution_orgnr as varchar) as institution_orgnr,
    cast(a.site_orgnr as varchar) as site_orgnr,
    cast(a.person_key as varchar) as person_key,
    cast(a.is_person_resolved as boolean) as is_person_resolved,
    cast(a.attendance_date as date) as attendance_date,
    cast(coalesce(a.procedure_code, 'unknown') as varchar) as procedure_code,
    cast(a.attendance_kind as varchar) as attendance_kind,
    cast(a.is_treatment as boolean) as is_treatment,
    cast(a.care_level as integer) as care_level,
    cast(a.equipment_id as varchar) as equipment_id,
    cast(a.n_machines as integer) as n_machines,
    cast(a.delivered_dose_gy as double) as delivered_dose_gy,
    cast(a.planned_dose_gy as double) as planned_dose_gy,
    cast(a.n_dose_contributions as integer) as n_dose_contributions,
    cast(coalesce(a.diagnosis_code, 'unknown') as varchar) as diagnosis_code,
    cast(coalesce(a.home_municipality, 'unknown') as varchar) as home_municipality,
    cast(a.file_id as varchar) as source_file_id
from {{ ref('int_rt__attendances') }} as a

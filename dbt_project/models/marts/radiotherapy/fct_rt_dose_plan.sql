{#- One row per dose-planning episode (str Episode whose main procedure code is WEGX*). -#}
select
    cast(a.attendance_id as varchar) as dose_plan_id,
    cast(coalesce(a.series_id, 'unknown') as varchar) as series_id,
    cast(a.institution_orgnr as varchar) as institution_orgnr,
    cast(a.site_orgnr as varchar) as site_orgnr,
    cast(a.person_key as varchar) as person_key,
    cast(a.attendance_date as date) as plan_date,
    cast(a.procedure_code as varchar) as planning_code,
    cast(coalesce(a.diagnosis_code, s.diagnosis_code, 'unknown') as varchar) as diagnosis_code,
    cast(coalesce(d.diagnosis_group, 'unknown') as varchar) as diagnosis_group,
    cast(a.equipment_id as varchar) as equipment_id,
    cast(a.file_id as varchar) as source_file_id
from {{ ref('int_rt__attendances') }} as a
left join {{ ref('int_rt__series') }} as s on s.series_id = a.series_id
left join {{ ref('int_diagnosis_codes') }} as d
    on d.diagnosis_code = coalesce(a.diagnosis_code, s.diagnosis_code)
where a.attendance_kind = 'planning'

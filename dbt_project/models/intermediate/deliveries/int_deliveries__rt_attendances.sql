{#- One row per radiotherapy treatment attendance (is_treatment: WEOA*, WEOB*, WEOC*), counted in
    the year of the attendance, with its series' breakdown attributes. -#}
select
    a.attendance_id,
    a.series_id,
    cast(extract(year from a.attendance_date) as integer) as year,
    a.attendance_date,
    cast(a.care_level as varchar) as care_level,
    a.person_key,
    coalesce(s.diagnosis_group, 'unknown') as diagnosis_group,
    coalesce(s.intent, '9') as intent,
    coalesce(s.hf_name, i.hf_name, 'unknown') as hf_name,
    coalesce(s.rhf_name, i.rhf_name, 'unknown') as rhf_name
from {{ ref('fct_rt_attendance') }} as a
left join {{ ref('int_deliveries__rt_series') }} as s on s.series_id = a.series_id
left join {{ ref('dim_institution') }} as i on i.orgnr = a.institution_orgnr
where a.is_treatment

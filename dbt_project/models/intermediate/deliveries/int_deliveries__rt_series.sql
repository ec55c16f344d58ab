{#- One row per radiotherapy treatment series, counted in the year of its start date, with the
    patient-counting rule of Helsedirektoratet: a person counts once per year (by series start) and
    diagnosis; `counts_as_patient` marks the first series of that person, year and diagnosis. -#}
with series as (
    select * from {{ ref('fct_rt_series') }}
),

institutions as (
    select * from {{ ref('dim_institution') }}
),

residence as (
    select * from {{ ref('dim_municipality') }}
),

located as (
    select
        s.series_id,
        coalesce(s.year, cast(extract(year from s.start_date) as integer)) as year,
        s.start_date,
        s.person_key,
        s.diagnosis_code,
        coalesce(s.diagnosis_group, 'unknown') as diagnosis_group,
        coalesce(cast(s.intent as varchar), '9') as intent,
        coalesce(s.is_new_patient, false) as is_new_patient,
        s.institution_orgnr,
        coalesce(i.hf_name, 'unknown') as hf_name,
        coalesce(i.rhf_name, 'unknown') as rhf_name,
        coalesce(r.rhf_name, 'unknown') as residence_rhf_name
    from series as s
    left join institutions as i on i.orgnr = s.institution_orgnr
    left join residence as r on r.municipality_number = s.home_municipality
)

select
    *,
    row_number() over (
        -- a diagnosis is the 3-character ICD-10 category: C50.4 and C50.9 are one breast cancer
        partition by year, person_key, coalesce(left(diagnosis_code, 3), diagnosis_group)
        order by start_date, series_id
    ) = 1 as counts_as_patient
from located

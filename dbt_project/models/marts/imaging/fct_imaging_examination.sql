{{ config(**incremental_by_year(stage='imaging_facts', column=examination_year('examination_date'))) }}
{#- One row per imaging examination (raa Prosedyre) or ZXM image-guided procedure (ord Prosedyre),
    current version after corrections; an ord procedure that repeats a raa examination is flagged
    (count activity with `not is_double_reported`). Partitioned by the year of examination_date
    (stage imaging_facts): a build recomputes the years whose examinations changed. -#}
select
    cast(e.examination_id as varchar) as examination_id,
    cast(e.source_module as varchar) as source_module,
    cast(e.institution_orgnr as varchar) as institution_orgnr,
    cast(e.site_orgnr as varchar) as site_orgnr,
    cast(e.is_site_known as boolean) as is_site_known,
    cast(e.equipment_id as varchar) as equipment_id,
    cast(e.episode_id as varchar) as episode_id,
    cast(e.procedure_no as integer) as procedure_no,
    cast(e.examination_date as date) as examination_date,
    cast(coalesce(e.procedure_code, 'unknown') as varchar) as procedure_code,
    cast(e.guidance_code as varchar) as guidance_code,
    cast(coalesce(e.modality, 'unknown') as varchar) as modality,
    cast(coalesce(e.modality_group, 'unknown') as varchar) as modality_group,
    cast(e.is_ionising as boolean) as is_ionising,
    cast(e.has_contrast as boolean) as has_contrast,
    cast(e.person_key as varchar) as person_key,
    cast(e.is_person_resolved as boolean) as is_person_resolved,
    cast(e.age as integer) as age,
    cast(e.sex as varchar) as sex,
    cast(coalesce(e.home_municipality, 'unknown') as varchar) as home_municipality,
    cast(e.care_level as integer) as care_level,
    cast(e.n_dose_events as integer) as n_dose_events,
    cast(e.n_dose_indicators as integer) as n_dose_indicators,
    cast(d.double_examination_id is not null as boolean) as is_double_reported,
    cast(d.kept_examination_id as varchar) as double_report_of,
    cast(e.file_id as varchar) as source_file_id
from
    {{ build_partition_input('int_imaging__examinations', column=examination_year('examination_date')) }}
        as e
left join {{ build_partition_input('int_imaging__double_reports') }} as d
    on d.double_examination_id = e.examination_id

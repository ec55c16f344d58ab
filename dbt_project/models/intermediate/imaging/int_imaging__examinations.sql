{{ config(**incremental_by_year(stage='imaging')) }}
{#- One row per examination (raa Prosedyre) or ZXM image-guided procedure (ord), with its
    episode, site, person, equipment (from the rad dose events that point to it) and dose count.
    Partitioned by the year of the episode group (int_imaging__episode_groups): the examination, its
    episode and the rad records that point to it share it. -#}
with procedures as (
    select * from {{ build_partition_input('int_imaging__procedures') }}
),

episodes as (
    {{ current_imaging_rows('raa', 'episodes') }}
    union all
    {{ current_imaging_rows('ord', 'episodes') }}
),

episode_sites as (
    select eu.module, eu.institution_orgnr, eu.episode_id, min(u.site_orgnr) as site_orgnr
    from (
        select 'raa' as module, * from ({{ current_imaging_rows('raa', 'episode_units') }}) as raa_units
        union all
        select 'ord' as module, * from ({{ current_imaging_rows('ord', 'episode_units') }}) as ord_units
    ) as eu
    inner join {{ ref('int_units') }} as u
        on u.institution_orgnr = eu.institution_orgnr and u.unit_id = eu.unit_id
    group by eu.module, eu.institution_orgnr, eu.episode_id
),

dose_events as (
    select
        institution_orgnr,
        episode_id,
        procedure_no,
        min(equipment_local_id) as equipment_local_id,
        count(*) as n_dose_events
    from ({{ current_imaging_rows('rad', 'dose_events') }}) as current_events
    group by institution_orgnr, episode_id, procedure_no
),

dose_indicators as (
    -- a dose indicator with a value, or an administered activity (nuclear medicine's dose measure)
    select institution_orgnr, episode_id, procedure_no, count(*) as n_dose_indicators
    from (
        select institution_orgnr, episode_id, procedure_no
        from {{ build_partition_input('int_imaging__dose_indicators') }}
        where value is not null
        union all
        select institution_orgnr, episode_id, procedure_no
        from ({{ current_imaging_rows('rad', 'radiopharmaceuticals') }}) as current_activities
        where administered_activity_mbq is not null
    ) as measured
    group by institution_orgnr, episode_id, procedure_no
),

patients as (
    select * from {{ ref('int_patient_keys') }}
)

select
    -- the module is part of the key: a raa and an ord episode may share an episodeID
    {{ natural_key(['p.source_module', 'p.institution_orgnr', 'p.episode_id', 'p.procedure_no']) }}
        as examination_id,
    p.source_module,
    p.institution_orgnr,
    coalesce(s.site_orgnr, p.institution_orgnr) as site_orgnr,
    s.site_orgnr is not null as is_site_known,
    case
        when d.equipment_local_id is not null
            then {{ natural_key(['p.institution_orgnr', 'd.equipment_local_id']) }}
        else {{ natural_key(['p.institution_orgnr', "'unknown'"]) }}
    end as equipment_id,
    p.episode_id,
    p.procedure_no,
    coalesce(p.measure_date, e.episode_date) as examination_date,
    p.procedure_code,
    p.guidance_code,
    p.modality,
    p.modality_group,
    p.is_ionising,
    p.has_contrast,
    pk.person_key,
    pk.is_person_resolved,
    e.patient_local_id,
    cast(extract(year from coalesce(p.measure_date, e.episode_date)) as integer) - pk.birth_year as age,
    pk.sex,
    e.home_municipality,
    e.care_level,
    coalesce(d.n_dose_events, 0) as n_dose_events,
    coalesce(di.n_dose_indicators, 0) as n_dose_indicators,
    e.file_id,
    p.year
from procedures as p
inner join episodes as e
    on
        e.module = p.source_module
        and e.institution_orgnr = p.institution_orgnr
        and e.episode_id = p.episode_id
left join episode_sites as s
    on
        s.module = p.source_module
        and s.institution_orgnr = p.institution_orgnr
        and s.episode_id = p.episode_id
left join dose_events as d
    on
        d.institution_orgnr = p.institution_orgnr
        and d.episode_id = p.episode_id
        and d.procedure_no = p.procedure_no
left join dose_indicators as di
    on
        di.institution_orgnr = p.institution_orgnr
        and di.episode_id = p.episode_id
        and di.procedure_no = p.procedure_no
left join patients as pk
    on pk.institution_orgnr = e.institution_orgnr and pk.patient_local_id = e.patient_local_id

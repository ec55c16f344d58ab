{#- One row per radiotherapy episode (str Episode, current version): an attendance (treatment,
    planning, check or other, by its main procedure code), with its series, site, person, main
    diagnosis, machines (ApparatFremmote) and dose contributions summed over reference volumes. -#}
with episodes as (
    {{ current_episode_rows('str', 'episodes') }}
),

procedure_codes as (
    {{ current_episode_rows('str', 'procedure_codes') }}
),

main_codes as (
    select institution_orgnr, episode_id, code as procedure_code
    from ({{ keep_first('procedure_codes', ['institution_orgnr', 'episode_id'],
        ['procedure_no', 'code_no', 'record_no']) }}) as first_codes
),

diagnosis_codes as (
    select *
    from ({{ current_episode_rows('str', 'condition_codes') }}) as current_codes
    where code_system = 'D'
),

main_diagnoses as (
    select institution_orgnr, episode_id, code as diagnosis_code
    from ({{ keep_first('diagnosis_codes', ['institution_orgnr', 'episode_id'],
        ['condition_no', 'code_no', 'record_no']) }}) as first_codes
),

machines as (
    select
        institution_orgnr,
        episode_id,
        min(equipment_local_id) as equipment_local_id,
        count(*) as n_machines
    from ({{ current_episode_rows('str', 'rt_attendances') }}) as current_attendances
    group by institution_orgnr, episode_id
),

doses as (
    select
        institution_orgnr,
        episode_id,
        sum(delivered_dose_gy) as delivered_dose_gy,
        sum(planned_dose_gy) as planned_dose_gy,
        count(*) as n_dose_contributions
    from ({{ current_episode_rows('str', 'dose_contributions') }}) as current_contributions
    group by institution_orgnr, episode_id
),

sites as (
    select eu.institution_orgnr, eu.episode_id, min(u.site_orgnr) as site_orgnr
    from ({{ current_episode_rows('str', 'episode_units') }}) as eu
    inner join {{ ref('int_units') }} as u
        on u.institution_orgnr = eu.institution_orgnr and u.unit_id = eu.unit_id
    group by eu.institution_orgnr, eu.episode_id
)

select
    {{ natural_key(['e.institution_orgnr', 'e.episode_id']) }} as attendance_id,
    case
        when e.series_local_id is not null
            then {{ natural_key(['e.institution_orgnr', 'e.series_local_id']) }}
    end as series_id,
    e.institution_orgnr,
    e.episode_id,
    e.series_local_id,
    coalesce(s.site_orgnr, e.institution_orgnr) as site_orgnr,
    pk.person_key,
    pk.is_person_resolved,
    e.patient_local_id,
    pk.sex,
    pk.birth_year,
    e.episode_date as attendance_date,
    e.started_at,
    e.care_level,
    e.home_municipality,
    mc.procedure_code,
    coalesce(pc.rt_procedure_kind, 'other') as attendance_kind,
    coalesce(pc.rt_procedure_kind = 'treatment', false) as is_treatment,
    md.diagnosis_code,
    case
        when m.equipment_local_id is not null
            then {{ natural_key(['e.institution_orgnr', 'm.equipment_local_id']) }}
        else {{ natural_key(['e.institution_orgnr', "'unknown'"]) }}
    end as equipment_id,
    coalesce(m.n_machines, 0) as n_machines,
    coalesce(d.delivered_dose_gy, 0) as delivered_dose_gy,
    coalesce(d.planned_dose_gy, 0) as planned_dose_gy,
    coalesce(d.n_dose_contributions, 0) as n_dose_contributions,
    e.version_date,
    e.file_id
from episodes as e
left join main_codes as mc on mc.institution_orgnr = e.institution_orgnr and mc.episode_id = e.episode_id
left join {{ ref('int_procedure_codes') }} as pc on pc.procedure_code = mc.procedure_code
left join main_diagnoses as md on md.institution_orgnr = e.institution_orgnr and md.episode_id = e.episode_id
left join machines as m on m.institution_orgnr = e.institution_orgnr and m.episode_id = e.episode_id
left join doses as d on d.institution_orgnr = e.institution_orgnr and d.episode_id = e.episode_id
left join sites as s on s.institution_orgnr = e.institution_orgnr and s.episode_id = e.episode_id
left join {{ ref('int_patient_keys') }} as pk
    on pk.institution_orgnr = e.institution_orgnr and pk.patient_local_id = e.patient_local_id

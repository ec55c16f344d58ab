{{ config(**incremental_by_year()) }}
{#- One row per person x year x examination group: the person's examinations with an effective dose
    (int_deliveries__examination_effective_doses, any source) in the year and that group, their dose,
    and the group's last examination (latest date, then examination id) with who the person was then.
    int_deliveries__person_cumulative_doses adds these up over its windows: a few rows per person and
    year, not every examination once per window covering it. Partitioned by year (macros/build_partitions.sql). -#}
with doses as (
    select
        e.person_key,
        e.year,
        e.examination_date,
        e.examination_id,
        e.age_group,
        e.sex,
        e.residence_rhf_name,
        d.examination_group,
        d.effective_dose_msv
    from {{ build_partition_input('int_deliveries__imaging_examinations') }} as e
    inner join
        {{ build_partition_input('int_deliveries__examination_effective_doses') }} as d
        on d.examination_id = e.examination_id
    where d.effective_dose_msv is not null
),

groups as (
    select
        person_key,
        year,
        examination_group,
        count(*) as n_examinations,
        sum(effective_dose_msv) as group_dose_msv,
        min(examination_date) as first_examination_date,
        max(examination_date) as last_examination_date,
        max_by(
            struct_pack(age_group := age_group, sex := sex, residence_rhf_name := residence_rhf_name),
            struct_pack(examination_date := examination_date, examination_id := examination_id)
        ) as last_seen,
        max(struct_pack(examination_date := examination_date, examination_id := examination_id)) as last_key
    from doses
    group by person_key, year, examination_group
)

select
    person_key,
    year,
    examination_group,
    n_examinations,
    group_dose_msv,
    first_examination_date,
    last_examination_date,
    last_key.examination_id as last_examination_id,
    last_seen.age_group as last_age_group,
    last_seen.sex as last_sex,
    last_seen.residence_rhf_name as last_residence_rhf_name
from groups

{#- One row per treatment series (institution, serieID) with at least one current treatment
    attendance (a series that is only planned so far is not a course of fractions yet).
    Attributes (intent, new patient, first date) from the latest file's Behandlingsserie; dose
    measures from the series' main reference volume (highest planned total dose, then most
    fractions); EQD2 and BED with alpha/beta from the lq_alpha_beta seed; fractionation schedule
    group from rt_schedule_groups; main diagnosis from the latest version of the series' episodes. -#}
with attendances as (
    select * from {{ ref('int_rt__attendances') }} where series_id is not null
),

series_attrs as (
    {{ current_context_rows('str', 'rt_series', ['series_local_id']) }}
),

volumes as (
    select * from {{ ref('int_rt__series_volumes') }}
),

main_volume as (
    select *
    from ({{ keep_first('volumes', ['series_id'],
        ['planned_total_dose_gy desc nulls last', 'fractions_delivered desc', 'reference_volume_id']) }}) as v
),

volume_counts as (
    select series_id, count(*) as n_reference_volumes from volumes group by series_id
),

attendance_summary as (
    select
        series_id,
        min(institution_orgnr) as institution_orgnr,
        min(series_local_id) as series_local_id,
        sum(case when is_treatment then 1 else 0 end) as n_treatment_attendances,
        sum(case when attendance_kind = 'planning' then 1 else 0 end) as n_dose_plans,
        min(case when is_treatment then attendance_date end) as first_treatment_date,
        max(case when is_treatment then attendance_date end) as last_treatment_date,
        min(attendance_date) as first_episode_date
    from attendances
    group by series_id
    having sum(case when is_treatment then 1 else 0 end) > 0
),

latest_episode as (
    -- the series' most recently corrected episode with a main diagnosis carries diagnosis, person, site
    select *
    from ({{ keep_first('attendances', ['series_id'],
        ['case when diagnosis_code is null then 1 else 0 end', 'version_date desc', 'attendance_date desc',
         'episode_id desc']) }}) as a
),

lq as (
    select
        max(case when endpoint = 'tumour' then alpha_beta_gy end) as alpha_beta_tumour_gy,
        max(case when endpoint = 'late' then alpha_beta_gy end) as alpha_beta_late_gy
    from {{ ref('lq_alpha_beta') }}
),

series as (
    select
        s.series_id,
        s.institution_orgnr,
        s.series_local_id,
        le.site_orgnr,
        le.person_key,
        le.is_person_resolved,
        le.sex,
        le.birth_year,
        le.home_municipality,
        le.diagnosis_code,
        coalesce(sa.first_attendance_date, s.first_treatment_date, s.first_episode_date) as start_date,
        s.first_treatment_date,
        s.last_treatment_date,
        sa.intent_code,
        sa.new_patient_code = '1' as is_new_patient,
        sa.series_name,
        s.n_treatment_attendances,
        s.n_dose_plans,
        coalesce(vc.n_reference_volumes, 0) as n_reference_volumes,
        mv.reference_volume_id as main_reference_volume_id,
        mv.reference_volume_name as main_reference_volume_name,
        mv.region_code,
        coalesce(mv.fractions_delivered, 0) as fractions_delivered,
        coalesce(mv.delivered_dose_gy, 0) as delivered_dose_gy,
        mv.dose_per_fraction_gy,
        mv.planned_total_dose_gy,
        mv.prescribed_fractions
    from attendance_summary as s
    inner join latest_episode as le on le.series_id = s.series_id
    left join series_attrs as sa
        on sa.institution_orgnr = s.institution_orgnr and sa.series_local_id = s.series_local_id
    left join main_volume as mv on mv.series_id = s.series_id
    left join volume_counts as vc on vc.series_id = s.series_id
),

schedules as (
    select
        s.series_id,
        g.schedule_group,
        g.fractionation_class,
        row_number() over (partition by s.series_id order by g.priority, g.schedule_group) as match_rank
    from series as s
    inner join {{ ref('rt_schedule_groups') }} as g
        on
            s.prescribed_fractions between g.fractions_min and g.fractions_max
            and s.dose_per_fraction_gy between g.dose_per_fraction_min_gy and g.dose_per_fraction_max_gy
)

select
    s.*,
    cast(extract(year from s.start_date) as integer) - s.birth_year as age,
    round(
        {{ eqd2('s.planned_total_dose_gy', 's.dose_per_fraction_gy', 'lq.alpha_beta_tumour_gy') }}, 4
    ) as eqd2_gy,
    round(
        {{ eqd2('s.planned_total_dose_gy', 's.dose_per_fraction_gy', 'lq.alpha_beta_late_gy') }}, 4
    ) as eqd2_late_gy,
    round(
        {{ bed('s.planned_total_dose_gy', 's.dose_per_fraction_gy', 'lq.alpha_beta_tumour_gy') }}, 4
    ) as bed_gy,
    round(
        {{ bed('s.planned_total_dose_gy', 's.dose_per_fraction_gy', 'lq.alpha_beta_late_gy') }}, 4
    ) as bed_late_gy,
    coalesce(sg.schedule_group, 'unknown') as schedule_group,
    coalesce(sg.fractionation_class, 'unknown') as fractionation_class
from series as s
cross join lq
left join schedules as sg on sg.series_id = s.series_id and sg.match_rank = 1

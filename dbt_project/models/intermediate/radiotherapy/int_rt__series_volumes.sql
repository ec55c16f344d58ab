{#- One row per treatment series x reference volume (Referansevolum) that received dose in a
    current attendance: fractions delivered (attendances with delivered dose > 0 to the volume),
    delivered dose (Σ gittDose), dose per fraction (the planned dose per fraction, planDose),
    planned total dose (planlagtTotalDose) and prescribed fractions (planned total ÷ dose per
    fraction), as Helsedirektoratet's dose-plan view defines them (docs/domain.md section 3). -#}
with contributions as (
    {{ current_episode_rows('str', 'dose_contributions') }}
),

volumes as (
    {{ current_context_rows('str', 'reference_volumes', ['medical_radiation_id', 'reference_volume_id']) }}
),

per_volume as (
    select
        institution_orgnr,
        series_local_id,
        medical_radiation_id,
        reference_volume_id,
        count(distinct case when delivered_dose_gy > 0 then episode_id end) as fractions_delivered,
        count(distinct episode_id) as n_attendances,
        sum(delivered_dose_gy) as delivered_dose_gy,
        round(avg(planned_dose_gy), 4) as dose_per_fraction_gy
    from contributions
    group by institution_orgnr, series_local_id, medical_radiation_id, reference_volume_id
)

select
    {{ natural_key(['p.institution_orgnr', 'p.series_local_id']) }} as series_id,
    {{ natural_key(['p.institution_orgnr', 'p.series_local_id', 'p.reference_volume_id']) }}
        as series_volume_id,
    p.institution_orgnr,
    p.series_local_id,
    p.medical_radiation_id,
    p.reference_volume_id,
    v.reference_volume_name,
    v.region_code,
    p.fractions_delivered,
    p.n_attendances,
    p.delivered_dose_gy,
    p.dose_per_fraction_gy,
    v.planned_total_dose_gy,
    case
        when p.dose_per_fraction_gy > 0
            then cast(round(v.planned_total_dose_gy / p.dose_per_fraction_gy, 0) as integer)
    end as prescribed_fractions
from per_volume as p
left join volumes as v
    on
        v.institution_orgnr = p.institution_orgnr
        and v.medical_radiation_id = p.medical_radiation_id
        and v.reference_volume_id = p.reference_volume_id

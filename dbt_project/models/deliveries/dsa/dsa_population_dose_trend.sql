{#- Time series of the population dose: one row per year x modality ('all' for every modality),
    dsa_population_dose's 'total' rows (suppressed there) with the change from the year before of the
    examinations, their frequency, the collective dose and the dose per caput. -#}
with totals as (
    select * exclude (breakdown, breakdown_value, is_provisional)
    from {{ ref('dsa_population_dose') }}
    where breakdown = 'total'
),

changed as (
    {{ with_change_from_previous_year('totals', ['year', 'modality'],
        ['n_examinations', 'per_1000_inhabitants', 'collective_dose_mansv', 'per_caput_msv']) }}
)

select *, {{ is_provisional('year') }} as is_provisional
from changed

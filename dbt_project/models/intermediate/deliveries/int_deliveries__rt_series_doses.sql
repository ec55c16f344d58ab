{#- One row per radiotherapy treatment series of int_deliveries__rt_series (counted in the year of its
    start, treating HF/RHF, RHF of residence) with what the radiotherapy quality tables add from
    fct_rt_series: the prescribed schedule (prescribed fractions and dose per fraction of the series'
    main reference volume), its EQD2 (alpha/beta of the tumour, seed lq_alpha_beta) and the patient's
    age group (var age_group_lower_bounds, the population table's bands). -#}
select
    s.series_id,
    s.year,
    s.start_date,
    s.person_key,
    s.diagnosis_group,
    s.intent,
    s.hf_name,
    s.rhf_name,
    s.residence_rhf_name,
    f.age,
    {{ age_group('f.age') }} as age_group,
    f.prescribed_fractions,
    f.dose_per_fraction_gy,
    f.eqd2_gy,
    -- a schedule to classify: planned total dose and dose per fraction known (then EQD2 is too)
    coalesce(f.prescribed_fractions > 0 and f.dose_per_fraction_gy > 0 and f.eqd2_gy is not null, false)
        as has_schedule
from {{ ref('int_deliveries__rt_series') }} as s
inner join {{ ref('fct_rt_series') }} as f on f.series_id = s.series_id

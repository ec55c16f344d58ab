{#- The follow-up list: one row per year x facility x examination code x dose type for a facility whose
    typical value (dsa_facility_dose.median, with the minimum sample) is above DSA's national reference
    value in the year and in the year before: two years running or more. years_running counts the
    consecutive years above up to the row's year. The counts, and the datatap of the year, are
    dsa_facility_dose's. -#}
with above as (
    select
        *,
        -- consecutive years share year - (their rank): one run per unbroken stretch
        year - row_number() over (partition by facility_id, procedure_code, dose_type order by year) as run
    from {{ ref('dsa_facility_dose') }}
    where exceeds_reference and meets_minimum
),

runs as (
    select
        *,
        count(*) over in_run as years_running,
        min(year) over in_run as first_year_above,
        lag(median) over in_run as previous_median
    from above
    window in_run as (partition by facility_id, procedure_code, dose_type, run order by year)
)

select
    year,
    facility_id,
    institution_orgnr,
    procedure_code,
    dose_type,
    unit,
    n_examinations,
    n_patients,
    median,
    previous_median,
    national_reference_value,
    median / national_reference_value as ratio_to_reference,
    cast(years_running as integer) as years_running,
    first_year_above,
    datatap,
    n_cells_suppressed,
    n_cells_total,
    {{ is_provisional('year') }} as is_provisional
from runs
where years_running >= 2

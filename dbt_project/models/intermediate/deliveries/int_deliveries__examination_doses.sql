{{ after_build_fingerprints() }}
{#- One row per examination (with activity) x dose type: the examination's dose of that quantity, the
    sum of its records (acquisitions, biplane, several syringes). An examination with any record of the
    quantity excluded (exclusion_reason: implausible, not above zero, unknown unit) has no dose of that
    quantity (value null): half a sum is no dose either. The one place that turns dose records into
    examination doses for the DRLs and the population dose. year (the examination's) lets a
    year-partitioned reader take only the years it rebuilds (build_partition_input). -#}
select
    examination_id,
    dose_type,
    year,
    min(unit) as unit,
    min(radiopharmaceutical_code) as radiopharmaceutical_code,
    count(*) as n_records,
    count(*) filter (where exclusion_reason = 'implausible_dose') as n_records_implausible,
    count(*) filter (where exclusion_reason is not null) as n_records_excluded,
    case when count(*) filter (where exclusion_reason is not null) = 0 then sum(value) end as value
from {{ ref('int_deliveries__imaging_doses') }}
where has_activity
group by examination_id, dose_type, year

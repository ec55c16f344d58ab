{{ config(**incremental_by_year()) }}
{#- One row per year x examination code x dose type: the national DRL as ICRP 135 defines it (P75 of
    the facility typical values of facilities with the minimum sample), P25 and P50 (the achievable
    dose), and a percentile bootstrap 95 % interval for P75 (macro drl_national, shared with
    dsa_drl_paediatric). A row on fewer than delivery_param('drl_min_facilities') facilities is kept
    with is_published false and its percentiles and interval null (a "national" value from one or two
    rooms is no DRL). Compared with DSA's published values. -#}
with
{{ drl_national(
    build_partition_input('int_deliveries__facility_typical_values'), ['year', 'procedure_code', 'dose_type']
) }},

reference as (
    select
        procedure_code, dose_type, examination as reference_examination, p75 as reference_p75,
        national_reference_value, published_date as reference_published_date, source as reference_source
    from {{ ref('dsa_reference_values') }}
    where procedure_code is not null
)

select
    d.year,
    d.procedure_code,
    d.dose_type,
    d.unit,
    d.n_facilities,
    d.n_examinations,
    d.is_published,
    d.p25,
    d.p50,
    d.p75,
    d.p75_ci_low,
    d.p75_ci_high,
    d.min_facilities,
    d.n_examinations_excluded,
    d.n_records_excluded_implausible,
    d.bootstrap_resamples,
    d.bootstrap_seed,
    r.reference_examination,
    r.reference_p75,
    r.national_reference_value,
    r.reference_published_date,
    r.reference_source,
    {{ is_provisional('d.year') }} as is_provisional
from drl as d
left join reference as r using (procedure_code, dose_type)

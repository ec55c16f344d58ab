{#- One row per year x examination code x dose type: the national DRL as ICRP 135 defines it (P75 of
    the facility typical values of facilities with the minimum sample), P25 and P50 (the achievable
    dose), and a percentile bootstrap 95 % interval for P75: delivery_param('drl_bootstrap_resamples') resamples
    of the facility medians, each draw's index from an md5 hash of (seed, group, resample, draw) so
    the interval is the same for the same inputs and seed. A row on fewer than
    delivery_param('drl_min_facilities') facilities is kept with is_published false and its percentiles
    and interval null (a "national" value from one or two rooms is no DRL). -#}
{%- set resamples = delivery_param('drl_bootstrap_resamples') -%}
{%- set seed = delivery_param('drl_bootstrap_seed') -%}
{%- set min_facilities = delivery_param('drl_min_facilities') -%}
with facilities as (
    select
        year, procedure_code, dose_type, unit, facility_id, n_examinations, median,
        row_number() over (partition by year, procedure_code, dose_type order by facility_id) - 1 as idx,
        count(*) over (partition by year, procedure_code, dose_type) as n_facilities
    from {{ ref('int_deliveries__facility_typical_values') }}
    where meets_minimum
),

national as (
    select
        year,
        procedure_code,
        dose_type,
        min(unit) as unit,
        count(*) as n_facilities,
        sum(n_examinations) as n_examinations,
        quantile_cont(median, 0.25) as p25,
        quantile_cont(median, 0.50) as p50,
        quantile_cont(median, 0.75) as p75
    from facilities
    group by year, procedure_code, dose_type
),

draw_slots as (
    select
        g.year, g.procedure_code, g.dose_type, g.n_facilities, r.resample,
        unnest(range(g.n_facilities)) as draw
    from national as g
    cross join range({{ resamples }}) as r (resample)
),

draws as (
    -- pseudo-random index in [0, n): the first 12 hex digits of an md5, reduced modulo n
    select
        year, procedure_code, dose_type, resample,
        cast(('0x' || left(md5(concat_ws(
            '|', '{{ seed }}', year, procedure_code, dose_type, resample,
            draw
        )), 12)) as bigint) % n_facilities as idx
    from draw_slots
),

resampled as (
    select dr.year, dr.procedure_code, dr.dose_type, dr.resample, quantile_cont(f.median, 0.75) as p75
    from draws as dr
    inner join facilities as f
        on f.year = dr.year and f.procedure_code = dr.procedure_code
            and f.dose_type = dr.dose_type and f.idx = dr.idx
    group by dr.year, dr.procedure_code, dr.dose_type, dr.resample
),

interval as (
    select
        year, procedure_code, dose_type,
        quantile_cont(p75, 0.025) as p75_ci_low,
        quantile_cont(p75, 0.975) as p75_ci_high
    from resampled
    group by year, procedure_code, dose_type
),

excluded as (
    -- records left out of the medians, over every facility of the code (ICRP 135: never a median)
    select
        year, procedure_code, dose_type,
        sum(n_examinations_excluded) as n_examinations_excluded,
        sum(n_records_excluded_implausible) as n_records_excluded_implausible
    from {{ ref('int_deliveries__facility_typical_values') }}
    group by year, procedure_code, dose_type
),

reference as (
    select
        procedure_code, dose_type, examination as reference_examination, p75 as reference_p75,
        national_reference_value, published_date as reference_published_date, source as reference_source
    from {{ ref('dsa_reference_values') }}
    where procedure_code is not null
)

select
    n.year,
    n.procedure_code,
    n.dose_type,
    n.unit,
    n.n_facilities,
    n.n_examinations,
    n.n_facilities >= {{ min_facilities }} as is_published,
    case when n.n_facilities >= {{ min_facilities }} then n.p25 end as p25,
    case when n.n_facilities >= {{ min_facilities }} then n.p50 end as p50,
    case when n.n_facilities >= {{ min_facilities }} then n.p75 end as p75,
    case when n.n_facilities >= {{ min_facilities }} then i.p75_ci_low end as p75_ci_low,
    case when n.n_facilities >= {{ min_facilities }} then i.p75_ci_high end as p75_ci_high,
    {{ min_facilities }} as min_facilities,
    coalesce(x.n_examinations_excluded, 0) as n_examinations_excluded,
    coalesce(x.n_records_excluded_implausible, 0) as n_records_excluded_implausible,
    {{ resamples }} as bootstrap_resamples,
    {{ seed }} as bootstrap_seed,
    r.reference_examination,
    r.reference_p75,
    r.national_reference_value,
    r.reference_published_date,
    r.reference_source,
    {{ is_provisional('n.year') }} as is_provisional
from national as n
left join interval as i using (year, procedure_code, dose_type)
left join excluded as x using (year, procedure_code, dose_type)
left join reference as r using (procedure_code, dose_type)

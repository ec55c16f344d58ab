{#- Time series of the national DRL: one row per year x examination code x dose type, dsa_drl's row of
    the year (P25, P50, P75 of the facility typical values and the bootstrap 95 % interval of P75) with
    its change from the year before, whether the two years' intervals are apart, and the trend: the
    least-squares slope of the published P75 over the delivery_param('trend_years') years ending in the
    row's year (at least three published years). -#}
{%- set window_years = delivery_param('trend_years') - 1 -%}
with drl as (
    select
        year, procedure_code, dose_type, unit, n_facilities, n_examinations, is_published,
        p25, p50, p75, p75_ci_low, p75_ci_high, national_reference_value, reference_p75
    from {{ ref('dsa_drl') }}
),

changed as (
    {{ with_change_from_previous_year('drl', ['year', 'procedure_code', 'dose_type'], ['p75'],
        carry=['p75', 'p75_ci_low', 'p75_ci_high']) }}
),

trend as (
    -- over the window's published years, the years counted back from the row's (small numbers: an
    -- exact slope for exact data)
    select
        cur.year,
        cur.procedure_code,
        cur.dose_type,
        count(w.p75) as n_years_in_trend,
        regr_slope(w.p75, w.year - cur.year) as p75_slope,
        avg(w.p75) as p75_mean
    from drl as cur
    left join drl as w
        on
            w.procedure_code = cur.procedure_code
            and w.dose_type = cur.dose_type
            and w.year between cur.year - {{ window_years }} and cur.year
    group by cur.year, cur.procedure_code, cur.dose_type
)

select
    c.*,
    -- the intervals of the two years do not overlap: a change beyond the resampling noise
    case
        when c.p75_ci_low is not null and c.previous_p75_ci_low is not null
            then c.p75_ci_low > c.previous_p75_ci_high or c.p75_ci_high < c.previous_p75_ci_low
    end as is_change_beyond_interval,
    t.n_years_in_trend,
    case when t.n_years_in_trend >= 3 then t.p75_slope end as p75_trend_per_year,
    case when t.n_years_in_trend >= 3 then 100.0 * t.p75_slope / nullif(t.p75_mean, 0) end
        as p75_trend_pct_per_year,
    {{ is_provisional('c.year') }} as is_provisional
from changed as c
inner join trend as t using (year, procedure_code, dose_type)

{{ config(**incremental_by_year(years_after=cumulative_dose_reach())) }}
{#- One row per year x window (1 or 5 years, var cumulative_dose_windows) x age group x sex x RHF of
    residence, with 'all' rows for every combination of the three (a cube): persons with an effective
    dose from imaging in the window, how many reached var cumulative_dose_threshold_msv (100 mSv) or
    more, their share, and the median and P95 of the persons' cumulative dose (quantile_cont). A
    person is counted once per year and window, in the age group, sex and region of their last
    examination in the window (int_deliveries__person_cumulative_doses, docs/domain.md section 6).
    A window reaching before the warehouse's first year says so (years_in_window, is_complete_window).

    Suppression (suppress_small_cells): n_persons and n_persons_100msv_or_more on their own persons,
    with the persons below the threshold a hidden remainder within the row, and secondary suppression
    across each dimension: the age groups of a sex x region add up to its 'all' row, and so do the
    sexes of an age group x region and the regions of an age group x sex. The share is blanked with
    either count, the median and P95 with n_persons. Windows and years share no margin (a person is in
    several). datatap per year x window x level (the cube's eight levels each count the persons once).
    Incremental by year like its input (macros/build_partitions.sql). -#}
{%- set keys = ['year', 'window_years', 'age_group', 'sex', 'residence_rhf_name'] -%}
{%- set dims = ['age_group', 'sex', 'residence_rhf_name'] -%}
with persons as (
    {%- set reach = cumulative_dose_reach() %}
    select * from {{ build_partition_input('int_deliveries__person_cumulative_doses', years_after=reach) }}
),

cells as (
    select
        year,
        window_years,
        {%- for d in dims %}
        case when grouping({{ d }}) = 1 then 'all' else {{ d }} end as {{ d }},
        {%- endfor %}
        years_in_window,
        years_in_window = window_years as is_complete_window,
        {{ delivery_param('cumulative_dose_threshold_msv') }} as threshold_msv,
        count(*) as n_persons,
        count(*) filter (where is_at_or_above_threshold) as n_persons_100msv_or_more,
        count(*) filter (where not is_at_or_above_threshold) as n_persons_below_100msv,
        count(*) filter (where is_at_or_above_threshold) / count(*) as share_100msv_or_more,
        quantile_cont(cumulative_dose_msv, 0.5) as median_msv,
        quantile_cont(cumulative_dose_msv, 0.95) as p95_msv,
        max(window_first_year) as window_first_year
    from persons
    group by year, window_years, years_in_window, cube ({{ dims | join(', ') }})
),

{%- set margins = [keys] %}
{%- for d in dims %}
{%- do margins.append(['year', 'window_years', 'measure'] + (dims | reject('equalto', d) | list)) %}
{%- endfor %}
{{ suppress_small_cells('cells', keys,
    measures={
        'n_persons': 'n_persons',
        'n_persons_100msv_or_more': 'n_persons_100msv_or_more',
        'n_persons_below_100msv': 'n_persons_below_100msv'},
    hidden=['n_persons_below_100msv'],
    margins=margins,
    dependents={
        'share_100msv_or_more': ['n_persons', 'n_persons_100msv_or_more'],
        'median_msv': ['n_persons'],
        'p95_msv': ['n_persons']},
    partition_by=['year', 'window_years', "(age_group = 'all')", "(sex = 'all')", "(residence_rhf_name = 'all')"]) }}

select
    year,
    window_years,
    age_group,
    sex,
    residence_rhf_name,
    window_first_year,
    years_in_window,
    is_complete_window,
    threshold_msv,
    n_persons,
    n_persons_100msv_or_more,
    share_100msv_or_more,
    median_msv,
    p95_msv,
    datatap,
    n_cells_suppressed,
    n_cells_total,
    {{ is_provisional('year') }} as is_provisional
from published

{{ config(**incremental_by_year(years_after=cumulative_dose_reach())) }}
{#- One row per person x year x window (var cumulative_dose_windows, 1 and 5 years): the person's
    cumulative effective dose from imaging over the window, the year and the years before it
    (docs/domain.md section 6, "Cumulative dose"). A person is in a window when they had at least one
    ionising examination with an effective dose (int_deliveries__examination_effective_doses, any
    source: measured, imputed code mean, typical) in it; examinations without a dose add nothing and
    make no one count. Years: every year from the first to the last examination year of the warehouse;
    a window reaching before the first year holds only the years the warehouse has (years_in_window,
    is_complete_window). The person's age group, sex and RHF of residence are those of their last
    examination in the window (latest date, then examination id): for one year, the age of the year
    (year - birth year) and the sex; for five years, where they were last seen. Sums the person-year
    rows of int_deliveries__person_year_doses; partitioned by year (macros/build_partitions.sql). -#}
{%- set windows = delivery_param('cumulative_dose_windows') -%}
{%- set reach = cumulative_dose_reach() -%}
{%- set threshold = delivery_param('cumulative_dose_threshold_msv') -%}
with person_year_groups as (
    -- the years the rebuilt windows hold
    select *
    from
        {{ build_partition_input('int_deliveries__person_year_doses', years_before=reach, years_after=reach) }}
),

data_years as (
    select min(year) as first_year, max(year) as last_year
    from {{ ref('int_deliveries__imaging_examinations') }}
),

windows as (
    {%- for n in windows %}
    select {{ n }} as window_years
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

years as (
    select
        cast(y.year as integer) as year,
        w.window_years,
        cast(greatest(y.year - w.window_years + 1, dy.first_year) as integer) as window_first_year,
        cast(least(w.window_years, y.year - dy.first_year + 1) as integer) as years_in_window
    from data_years as dy
    cross join generate_series(dy.first_year, dy.last_year) as y (year)
    cross join windows as w
    where {{ build_partitions_output_filter('y.year') }}
),

in_window as (
    -- every person-year-group row once in each window that covers its year
    select
        y.year,
        y.window_years,
        y.window_first_year,
        y.years_in_window,
        g.person_key,
        g.examination_group,
        g.n_examinations,
        g.group_dose_msv,
        g.first_examination_date,
        g.last_examination_date,
        struct_pack(
            age_group := g.last_age_group, sex := g.last_sex, residence_rhf_name := g.last_residence_rhf_name
        ) as last_seen,
        struct_pack(examination_date := g.last_examination_date, examination_id := g.last_examination_id)
            as last_key
    from person_year_groups as g
    inner join years as y on g.year between y.window_first_year and y.year
),

by_group as (
    select year, window_years, person_key, examination_group, sum(group_dose_msv) as group_dose_msv
    from in_window
    group by all
),

top_group as (
    select
        year,
        window_years,
        person_key,
        -- the largest part of the dose, compared at 1e-6 mSv like the threshold (float sums of the
        -- same doses added in another order differ in the last bits); ties by group name
        first(examination_group order by round(group_dose_msv, 6) desc, examination_group asc)
            as examination_group,
        max(group_dose_msv) as group_dose_msv
    from by_group
    group by year, window_years, person_key
),

totals as (
    select
        year,
        window_years,
        person_key,
        any_value(window_first_year) as window_first_year,
        any_value(years_in_window) as years_in_window,
        sum(n_examinations) as n_examinations,
        sum(group_dose_msv) as cumulative_dose_msv,
        min(first_examination_date) as first_examination_date,
        max(last_examination_date) as last_examination_date,
        max_by(last_seen, last_key) as last_seen
    from in_window
    group by year, window_years, person_key
)

select
    t.year,
    t.window_years,
    t.person_key,
    t.window_first_year,
    t.years_in_window,
    t.years_in_window = t.window_years as is_complete_window,
    t.last_seen.age_group,
    t.last_seen.sex,
    t.last_seen.residence_rhf_name,
    t.n_examinations,
    t.cumulative_dose_msv,
    -- compared at 1e-6 mSv: a sum that is the threshold in exact arithmetic counts
    round(t.cumulative_dose_msv, 6) >= {{ threshold }} as is_at_or_above_threshold,
    g.examination_group as top_examination_group,
    g.group_dose_msv as top_examination_group_dose_msv,
    t.first_examination_date,
    t.last_examination_date
from totals as t
inner join top_group as g using (year, window_years, person_key)

{#- One row per year x window (1 or 5 years) x examination group (the RP 154 top-20 groups of seed
    typical_effective_doses, 'other' for the rest): what the persons of dsa_cumulative_dose at or above
    var cumulative_dose_threshold_msv (100 mSv) had in the window. n_persons: those of them with an
    examination of the group; n_examinations and dose_msv: those examinations and the sum of their
    effective doses; n_persons_top_group: those for whom the group gave the largest part of their
    cumulative dose. National only (every age group, sex and region). Suppression (suppress_small_cells)
    on each number's own persons; n_persons_top_group of the groups add up to dsa_cumulative_dose's
    n_persons_100msv_or_more of the year and window ('all' row), a margin; n_persons does not (a
    person is in several groups), and the examinations and doses add up to the threshold persons'
    totals, which are published nowhere. The dose and the mean are blanked with the examinations. -#}
{%- set keys = ['year', 'window_years', 'examination_group'] -%}
with persons as (
    select year, window_years, person_key, window_first_year, years_in_window, top_examination_group
    from {{ ref('int_deliveries__person_cumulative_doses') }}
    where is_at_or_above_threshold
),

person_years as (
    -- each person's examinations with an effective dose, summed per year and group
    select * from {{ ref('int_deliveries__person_year_doses') }}
),

cells as (
    select
        p.year,
        p.window_years,
        g.examination_group,
        any_value(p.years_in_window) as years_in_window,
        any_value(p.years_in_window) = p.window_years as is_complete_window,
        {{ delivery_param('cumulative_dose_threshold_msv') }} as threshold_msv,
        count(distinct p.person_key) as n_persons,
        count(distinct p.person_key) filter (where p.top_examination_group = g.examination_group)
            as n_persons_top_group,
        cast(sum(g.n_examinations) as bigint) as n_examinations,
        sum(g.group_dose_msv) as dose_msv,
        sum(g.group_dose_msv) / sum(g.n_examinations) as mean_effective_dose_msv
    from persons as p
    inner join person_years as g
        on
            g.person_key = p.person_key
            and g.year between p.window_first_year and p.year
    group by p.year, p.window_years, g.examination_group
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_persons': 'n_persons',
        'n_persons_top_group': 'n_persons_top_group',
        'n_examinations': 'n_persons'},
    margins=[['year', 'window_years', "case when measure = 'n_persons_top_group' then 1 end"]],
    dependents={'dose_msv': ['n_examinations'], 'mean_effective_dose_msv': ['n_examinations']},
    partition_by=['year', 'window_years']) }}

select
    year,
    window_years,
    examination_group,
    years_in_window,
    is_complete_window,
    threshold_msv,
    n_persons,
    n_persons_top_group,
    n_examinations,
    dose_msv,
    mean_effective_dose_msv,
    datatap,
    n_cells_suppressed,
    n_cells_total,
    {{ is_provisional('year') }} as is_provisional
from published

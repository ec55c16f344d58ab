{#- Time series of radiotherapy activity: one row per year x RHF x hospital (HF) of treatment:
    patients, series and attendances as rhf_rt_activity counts them (macro rt_activity_cells at this
    grain: each number is the sum of rhf_rt_activity's cells of the hospital, before suppression), with
    the change from the year before, taken between published numbers only. Every number is suppressed
    on its own patients; a region's hospitals add up to its total (derivable from rhf_rt_activity and
    rhf_rt_migration), the regions to the year's. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name'] -%}
with all_cells as (
    {{ rt_activity_cells(keys) }}
),

cells as (
    -- the numbers this table publishes, and the patients behind each
    select
        year, rhf_name, hf_name,
        n_patients, n_patients__patients,
        n_series, n_series__patients,
        n_attendances, n_attendances__patients
    from all_cells
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_patients': 'n_patients__patients',
        'n_series': 'n_series__patients',
        'n_attendances': 'n_attendances__patients'},
    margins=[['year', 'rhf_name', 'measure'], ['year', 'measure']]) }},

changed as (
    {{ with_change_from_previous_year('published', keys, ['n_patients', 'n_series', 'n_attendances']) }}
)

select *, {{ is_provisional('year') }} as is_provisional
from changed

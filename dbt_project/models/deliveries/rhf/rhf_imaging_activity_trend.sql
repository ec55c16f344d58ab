{{ config(**incremental_by_year(years_after=1)) }}
{#- Time series of imaging activity: one row per year x month x region basis x RHF x HF x modality,
    month null on the yearly rows. The yearly rows are the year's cells (macro imaging_activity_cells
    without the month), suppressed here on their own patients with the margins rhf_imaging_activity
    uses per month; the monthly rows are rhf_imaging_activity's rows as published there (which treats
    the yearly numbers as a margin of its months). Each row carries its change from the year before
    (the same month on monthly rows), taken between published numbers only. Incremental by year: a
    changed year rebuilds itself and the year after it (its change), from the two years' cells
    (macros/build_partitions.sql). -#}
{%- set year_keys = ['year', 'region_basis', 'rhf_name', 'hf_name', 'is_private_provider', 'modality'] -%}
{%- set grain = ['year', 'month', 'region_basis', 'rhf_name', 'hf_name', 'modality'] -%}
with cells as (
    {{ imaging_activity_cells(year_keys, years_before=1, years_after=1) }}
),

{{ suppress_small_cells('cells', year_keys, partition_by=['year', 'region_basis'],
    measures=imaging_activity_measures(),
    hidden=['n_non_ionising_examinations'],
    margins=imaging_activity_margins(['year'], year_keys)) }},

yearly_and_monthly as (
    select *, cast(null as integer) as month from published
    union all by name
    select * exclude (is_provisional)
    from {{ build_partition_input('rhf_imaging_activity', years_before=1, years_after=1) }}
),

changed as (
    {{ with_change_from_previous_year('yearly_and_monthly', grain, ['n_examinations', 'n_patients']) }}
)

select *, {{ is_provisional('year') }} as is_provisional
from changed
where {{ build_partitions_output_filter() }}

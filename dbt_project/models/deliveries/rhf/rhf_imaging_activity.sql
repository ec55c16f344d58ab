{{ config(**incremental_by_year()) }}
{#- One row per year x month x region basis x RHF x HF x modality: examinations and image-guided ZXM
    procedures, and the unique patients behind them (docs/domain.md section 1; the cells:
    macro imaging_activity_cells).
    region_basis 'provider': every examination under the RHF and HF of the reporting institution; a
    private institute is its own HF under the RHF it lies in.
    region_basis 'residence': the private institutes' examinations again, under the patient's RHF of
    residence (what a region buys from each private institute; hf_name = the institute).
    Every number is suppressed on its own patients; non-ionising examinations are the hidden
    remainder of n_examinations; an institute's residence rows add up to its provider row; a cell's
    months add up to its yearly number in rhf_imaging_activity_trend. -#}
{%- set keys = ['year', 'month', 'region_basis', 'rhf_name', 'hf_name', 'is_private_provider', 'modality'] -%}
with cells as (
    {{ imaging_activity_cells(keys) }}
),

{{ suppress_small_cells('cells', keys, partition_by=['year', 'region_basis'],
    measures=imaging_activity_measures(),
    hidden=['n_non_ionising_examinations'],
    margins=imaging_activity_margins(['year', 'month'], keys) + [imaging_activity_year_margin()]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

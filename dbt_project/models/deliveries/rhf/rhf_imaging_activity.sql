{#- One row per year x month x region basis x RHF x HF x modality: examinations and image-guided ZXM
    procedures, and the unique patients behind them (docs/domain.md section 1).
    region_basis 'provider': every examination under the RHF and HF of the reporting institution; a
    private institute is its own HF under the RHF it lies in.
    region_basis 'residence': the private institutes' examinations again, under the patient's RHF of
    residence (what a region buys from each private institute; hf_name = the institute).
    Every number is suppressed on its own patients; non-ionising examinations are the hidden
    remainder of n_examinations; an institute's residence rows add up to its provider row. -#}
{%- set keys = ['year', 'month', 'region_basis', 'rhf_name', 'hf_name', 'is_private_provider', 'modality'] -%}
with examinations as (
    select
        year,
        month,
        'provider' as region_basis,
        rhf_name,
        hf_name,
        is_private_provider,
        modality,
        is_ionising,
        person_key
    from {{ ref('int_deliveries__imaging_examinations') }}
    union all
    select
        year,
        month,
        'residence' as region_basis,
        residence_rhf_name as rhf_name,
        hf_name,
        is_private_provider,
        modality,
        is_ionising,
        person_key
    from {{ ref('int_deliveries__imaging_examinations') }}
    where is_private_provider
),

cells as (
    select
        {{ keys | join(', ') }},
        count(*) as n_examinations,
        count(*) filter (where is_ionising) as n_ionising_examinations,
        count(distinct person_key) filter (where is_ionising) as n_ionising_examinations__patients,
        count(*) filter (where not is_ionising) as n_non_ionising_examinations,
        count(distinct person_key) filter (where not is_ionising) as n_non_ionising_examinations__patients,
        count(distinct person_key) as n_patients
    from examinations
    group by {{ keys | join(', ') }}
),

{{ suppress_small_cells('cells', keys, partition_by=['year', 'region_basis'],
    measures={
        'n_examinations': 'n_patients',
        'n_ionising_examinations': 'n_ionising_examinations__patients',
        'n_non_ionising_examinations': 'n_non_ionising_examinations__patients',
        'n_patients': 'n_patients'},
    hidden=['n_non_ionising_examinations'],
    margins=[
        ['year', 'month', 'region_basis', 'rhf_name', 'hf_name', 'measure'],
        ['year', 'month', 'region_basis', 'rhf_name', 'modality', 'measure'],
        ['year', 'month', 'region_basis', 'measure'],
        ['year', 'month', 'case when is_private_provider then hf_name end', 'modality', 'measure'],
        keys + ["case when measure like 'n_%examinations' then 1 end"]]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

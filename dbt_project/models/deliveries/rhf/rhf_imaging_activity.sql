{#- One row per year x month x RHF x HF (of the reporting institution) x modality: examinations and
    image-guided ZXM procedures, and the unique patients behind them. Every number is suppressed on
    its own patients; non-ionising examinations are the hidden remainder of n_examinations. -#}
{%- set keys = ['year', 'month', 'rhf_name', 'hf_name', 'modality'] -%}
with cells as (
    select
        {{ keys | join(', ') }},
        count(*) as n_examinations,
        count(*) filter (where is_ionising) as n_ionising_examinations,
        count(distinct person_key) filter (where is_ionising) as n_ionising_examinations__patients,
        count(*) filter (where not is_ionising) as n_non_ionising_examinations,
        count(distinct person_key) filter (where not is_ionising) as n_non_ionising_examinations__patients,
        count(distinct person_key) as n_patients
    from {{ ref('int_deliveries__imaging_examinations') }}
    group by {{ keys | join(', ') }}
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_examinations': 'n_patients',
        'n_ionising_examinations': 'n_ionising_examinations__patients',
        'n_non_ionising_examinations': 'n_non_ionising_examinations__patients',
        'n_patients': 'n_patients'},
    hidden=['n_non_ionising_examinations'],
    margins=[
        ['year', 'month', 'rhf_name', 'hf_name', 'measure'],
        ['year', 'month', 'rhf_name', 'modality', 'measure'],
        ['year', 'month', 'measure'],
        keys + ["case when measure like 'n_%examinations' then 1 end"]]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

{#- One row per year x month x RHF x HF (of the reporting institution) x modality: examinations and
    image-guided ZXM procedures, and the unique patients behind them. -#}
{%- set keys = ['year', 'month', 'rhf_name', 'hf_name', 'modality'] -%}
with cells as (
    select
        {{ keys | join(', ') }},
        count(*) as n_examinations,
        count(*) filter (where is_ionising) as n_ionising_examinations,
        count(distinct person_key) as n_patients
    from {{ ref('int_deliveries__imaging_examinations') }}
    group by {{ keys | join(', ') }}
),

{{ suppress_small_cells('cells', 'n_patients', keys,
    margins=[['year', 'month', 'rhf_name', 'hf_name'], ['year', 'month', 'rhf_name', 'modality'],
        ['year', 'month']]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

{#- One row per year x RHF of residence x RHF of treatment: patients (once per year by series start and
    diagnosis) treated in their own or another region. -#}
{%- set keys = ['year', 'residence_rhf_name', 'treatment_rhf_name'] -%}
with cells as (
    select
        year,
        residence_rhf_name,
        rhf_name as treatment_rhf_name,
        residence_rhf_name <> rhf_name as is_migration,
        count(distinct person_key) as n_patients
    from {{ ref('int_deliveries__rt_series') }}
    where counts_as_patient
    group by all
),

{{ suppress_small_cells('cells', keys, measures={'n_patients': 'n_patients'},
    margins=[['year', 'residence_rhf_name'], ['year', 'treatment_rhf_name'], ['year']]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

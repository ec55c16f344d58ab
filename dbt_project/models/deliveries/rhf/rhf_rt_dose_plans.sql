{#- One row per year x RHF of treatment x planning code x diagnosis group: dose plans (WEGX* planning
    episodes), the series they belong to, and dose plans per series. planning_code 'all' rows hold
    every planning code of the RHF and diagnosis group: their dose_plans_per_series is Helsedirektoratet's
    "dose plans per series". -#}
{%- set keys = ['year', 'rhf_name', 'planning_code', 'diagnosis_group'] -%}
with cells as (
    select
        year,
        rhf_name,
        -- the rollup row, not a missing code (a planning episode always has its WEGX code)
        case when grouping(planning_code) = 1 then 'all' else planning_code end as planning_code,
        diagnosis_group,
        count(*) as n_dose_plans,
        count(distinct series_id) as n_series,
        count(*) / nullif(count(distinct series_id), 0) as dose_plans_per_series,
        count(distinct person_key) as n_patients
    from {{ ref('int_deliveries__rt_dose_plans') }}
    group by grouping sets (
        (year, rhf_name, planning_code, diagnosis_group),
        (year, rhf_name, diagnosis_group)
    )
),

{{ suppress_small_cells('cells', 'n_patients', keys,
    margins=[['year', 'rhf_name', 'planning_code'], ['year', 'rhf_name', 'diagnosis_group'], ['year']],
    partition_by=['year', "(planning_code = 'all')"]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

{#- One row per year x RHF of treatment x planning code x diagnosis group: dose plans (WEGX* planning
    episodes) in the year of the plan and the series they belong to. planning_code 'all' rows hold every
    planning code of the RHF and diagnosis group, and their n_series is every treatment series started
    in the year in that RHF and diagnosis group (as rhf_rt_activity counts them): their
    dose_plans_per_series is Helsedirektoratet's "dose plans per series" (dose plans / series, below 1
    where series go without a plan of their own). -#}
{%- set keys = ['year', 'rhf_name', 'planning_code', 'diagnosis_group'] -%}
with plans as (
    select
        year,
        rhf_name,
        -- the rollup row, not a missing code (a planning episode always has its WEGX code)
        case when grouping(planning_code) = 1 then 'all' else planning_code end as planning_code,
        diagnosis_group,
        count(*) as n_dose_plans,
        count(distinct series_id) as n_series,
        count(distinct person_key) as n_patients,
        count(distinct person_key) filter (where series_id is not null) as n_series__patients
    from {{ ref('int_deliveries__rt_dose_plans') }}
    group by grouping sets (
        (year, rhf_name, planning_code, diagnosis_group),
        (year, rhf_name, diagnosis_group)
    )
),

series as (
    select
        year,
        rhf_name,
        'all' as planning_code,
        diagnosis_group,
        count(*) as n_series,
        count(distinct person_key) as n_series__patients
    from {{ ref('int_deliveries__rt_series') }}
    group by year, rhf_name, diagnosis_group
),

cells as (
    select
        {% for k in keys %}coalesce(p.{{ k }}, s.{{ k }}) as {{ k }},
        {% endfor -%}
        coalesce(p.n_dose_plans, 0) as n_dose_plans,
        coalesce(p.n_patients, 0) as n_patients,
        case when coalesce(p.planning_code, s.planning_code) = 'all' then coalesce(s.n_series, 0)
            else p.n_series
        end as n_series,
        case when coalesce(p.planning_code, s.planning_code) = 'all' then coalesce(s.n_series__patients, 0)
            else p.n_series__patients
        end as n_series__patients,
        coalesce(p.n_dose_plans, 0) / nullif(
            case when coalesce(p.planning_code, s.planning_code) = 'all' then s.n_series else p.n_series end,
            0
        ) as dose_plans_per_series
    from plans as p
    full outer join series as s using ({{ keys | join(', ') }})
),

{#- the 'all' rows' n_series is the sum of rhf_rt_activity's n_series over hospitals and intents, whose
    margin protects it there; here it takes part in no margin -#}
{%- set in_margins = "case when not (planning_code = 'all' and measure = 'n_series') then 1 end" %}

{{ suppress_small_cells('cells', keys,
    measures={'n_dose_plans': 'n_patients', 'n_series': 'n_series__patients', 'n_patients': 'n_patients'},
    margins=[
        ['year', 'rhf_name', 'diagnosis_group', 'measure', in_margins],
        ['year', 'rhf_name', 'planning_code', 'measure', in_margins],
        ['year', 'planning_code', 'measure', in_margins]],
    dependents={'dose_plans_per_series': ['n_dose_plans', 'n_series']},
    partition_by=['year', "(planning_code = 'all')"]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

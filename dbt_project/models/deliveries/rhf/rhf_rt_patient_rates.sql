{#- One row per year x RHF of residence x age group, with 'all' rows (every age group of a region, every
    region of an age group, and the year): radiotherapy patients per 1,000 inhabitants. A patient is a
    person with a series started in the year, counted once a year (not once per diagnosis, as
    rhf_rt_activity counts: a rate per inhabitant counts persons), in the region and age group of
    their first series of the year (age = year - birth year, the population table's bands). Persons
    whose home municipality maps to no RHF, or without an age, are left out: there is no population
    to divide by. The population is int_deliveries__population's (the seed population summed over
    each RHF's municipalities), the same denominator as dsa_population_dose.
    n_patients is suppressed on its own patients (suppress_small_cells), with secondary suppression
    across the age groups of each region and across the regions of each age group ('all' rows the
    totals); a rate is blanked with its count, the population is public. datatap per year and level
    (the detail rows, each region's total, each age group's total, the year's total: each level counts
    the year's patients once). -#}
{%- set keys = ['year', 'residence_rhf_name', 'age_group'] -%}
{%- set levels = '(year, residence_rhf_name, age_group), (year, residence_rhf_name), (year, age_group), (year)' -%}
with persons as (
    select year, person_key, residence_rhf_name, age_group
    from {{ ref('int_deliveries__rt_series_doses') }}
    qualify row_number() over (partition by year, person_key order by start_date, series_id) = 1
),

counted as (
    select
        year,
        case when grouping(residence_rhf_name) = 1 then 'all' else residence_rhf_name end
            as residence_rhf_name,
        case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
        count(*) as n_patients
    from persons
    where residence_rhf_name <> 'unknown' and age_group <> 'unknown'
    group by grouping sets ({{ levels }})
),

population as (
    select
        year,
        case when grouping(residence_rhf_name) = 1 then 'all' else residence_rhf_name end
            as residence_rhf_name,
        case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
        sum(population) as population
    from {{ ref('int_deliveries__population') }}
    where residence_rhf_name <> 'unknown'
    group by grouping sets ({{ levels }})
),

cells as (
    select
        c.year,
        c.residence_rhf_name,
        c.age_group,
        c.n_patients,
        cast(p.population as bigint) as population,
        1000.0 * c.n_patients / nullif(p.population, 0) as per_1000_inhabitants
    from counted as c
    left join population as p using ({{ keys | join(', ') }})
),

{{ suppress_small_cells('cells', keys,
    measures={'n_patients': 'n_patients'},
    margins=[['year', 'residence_rhf_name', 'measure'], ['year', 'age_group', 'measure']],
    dependents={'per_1000_inhabitants': ['n_patients']},
    partition_by=['year', "(residence_rhf_name = 'all')", "(age_group = 'all')"]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

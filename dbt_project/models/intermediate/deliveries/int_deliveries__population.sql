{#- The population the rates of the delivery tables divide by: one row per year x RHF of residence x
    sex x age group, the inhabitants of the population table (seed population; Statistics Norway's
    table for real data) summed over the municipalities of each RHF (dim_municipality's catchment,
    the same mapping that places a patient's home municipality). -#}
select
    p.year,
    coalesce(m.rhf_name, 'unknown') as residence_rhf_name,
    cast(p.sex as varchar) as sex,
    p.age_group,
    cast(sum(p.population) as bigint) as population
from {{ ref('population') }} as p
left join {{ ref('dim_municipality') }} as m on m.municipality_number = p.municipality_number
group by all

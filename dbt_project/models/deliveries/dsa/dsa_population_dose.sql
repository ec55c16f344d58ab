{#- One row per year x modality group (CT, X-ray, nuclear medicine ...) x breakdown x breakdown value:
    examination frequency and collective effective dose by the EU Radiation Protection 154 method.

    breakdown is 'total' (breakdown_value 'all'), 'sex' (1 male, 2 female, 9 unknown), 'age_group' or
    'residence_rhf'; modality 'all' rows sum every modality. An examination's effective dose is its dose
    indicator x the coefficient (seed effective_dose_coefficients) for its NCRP code; an examination with
    a coefficient but no dose reported gets the mean effective dose of its code in the year (RP 154:
    frequency x typical dose), so missing dose reports do not lower the collective dose. Examinations
    without a coefficient are counted and reported, with no dose. Per caput and per 1,000 use the
    population of the same breakdown (seed population). -#}
{%- set keys = ['year', 'modality', 'breakdown', 'breakdown_value'] -%}
with examinations as (
    select * from {{ ref('int_deliveries__imaging_examinations') }} where is_ionising
),

coefficients as (
    select * from {{ ref('effective_dose_coefficients') }}
),

code_coefficients as (
    -- match the (few) distinct codes, not every examination, against the patterns
    select c.procedure_code, k.coefficient_id, k.dose_type, k.coefficient
    from (select distinct procedure_code from examinations) as c
    inner join coefficients as k on regexp_matches(c.procedure_code, k.procedure_code_regex)
),

measured_by_coefficient as (
    -- several records of one quantity (acquisitions, biplane) add up to the examination's dose
    select d.examination_id, k.coefficient_id, sum(d.value * k.coefficient) as effective_dose_msv
    from {{ ref('int_deliveries__imaging_doses') }} as d
    inner join code_coefficients as k on k.procedure_code = d.procedure_code and k.dose_type = d.dose_type
    where d.has_activity and d.value is not null
    group by d.examination_id, k.coefficient_id
),

measured as (
    -- one estimate per examination: where two quantities both have a coefficient, the first one
    select examination_id, effective_dose_msv
    from (
        select
            *,
            row_number() over (partition by examination_id order by coefficient_id) as preference
        from measured_by_coefficient
    ) as ranked
    where preference = 1
),

per_examination as (
    select
        e.*,
        k.coefficient_id is not null as has_coefficient,
        m.effective_dose_msv is not null as has_measured_dose,
        coalesce(
            m.effective_dose_msv,
            avg(m.effective_dose_msv) over (partition by e.year, e.procedure_code)
        ) as effective_dose_msv
    from examinations as e
    left join (select distinct procedure_code, coefficient_id from code_coefficients) as k
        on k.procedure_code = e.procedure_code
    left join measured as m on m.examination_id = e.examination_id
),

grouped as (
    select
        year,
        modality_group as modality,
        sex,
        age_group,
        residence_rhf_name,
        grouping(modality_group) as all_modalities,
        grouping(sex) as all_sexes,
        grouping(age_group) as all_ages,
        grouping(residence_rhf_name) as all_regions,
        count(*) as n_examinations,
        count(distinct person_key) as n_patients,
        count(*) filter (where has_coefficient) as n_examinations_with_coefficient,
        count(*) filter (where has_measured_dose) as n_examinations_with_measured_dose,
        sum(effective_dose_msv) as collective_dose_msv
    from per_examination
    group by grouping sets (
        (year, modality_group), (year, modality_group, sex), (year, modality_group, age_group),
        (year, modality_group, residence_rhf_name),
        (year), (year, sex), (year, age_group), (year, residence_rhf_name)
    )
),

labelled as (
    select
        year,
        case when all_modalities = 1 then 'all' else modality end as modality,
        case
            when all_sexes = 0 then 'sex'
            when all_ages = 0 then 'age_group'
            when all_regions = 0 then 'residence_rhf'
            else 'total'
        end as breakdown,
        case
            when all_sexes = 0 then sex
            when all_ages = 0 then age_group
            when all_regions = 0 then residence_rhf_name
            else 'all'
        end as breakdown_value,
        n_examinations,
        n_patients,
        n_examinations_with_coefficient,
        n_examinations_with_measured_dose,
        collective_dose_msv
    from grouped
),

population as (
    select
        p.year,
        cast(p.sex as varchar) as sex,
        p.age_group,
        coalesce(m.rhf_name, 'unknown') as residence_rhf_name,
        p.population
    from {{ ref('population') }} as p
    left join {{ ref('dim_municipality') }} as m on m.municipality_number = p.municipality_number
),

denominators as (
    select year, 'total' as breakdown, 'all' as breakdown_value, sum(population) as population
    from population group by year
    union all
    select year, 'sex', sex, sum(population) from population group by year, sex
    union all
    select year, 'age_group', age_group, sum(population) from population group by year, age_group
    union all
    select year, 'residence_rhf', residence_rhf_name, sum(population) from population
    group by year, residence_rhf_name
),

cells as (
    select
        l.year,
        l.modality,
        l.breakdown,
        l.breakdown_value,
        l.n_examinations,
        l.n_patients,
        l.n_examinations_with_coefficient,
        l.n_examinations_with_measured_dose,
        p.population,
        1000.0 * l.n_examinations / nullif(p.population, 0) as per_1000_inhabitants,
        l.collective_dose_msv / 1000.0 as collective_dose_mansv,
        l.collective_dose_msv / nullif(p.population, 0) as per_caput_msv,
        l.collective_dose_msv / nullif(l.n_examinations_with_coefficient, 0) as mean_effective_dose_msv
    from labelled as l
    left join denominators as p
        on p.year = l.year and p.breakdown = l.breakdown and p.breakdown_value = l.breakdown_value
),

{{ suppress_small_cells('cells', 'n_patients', keys,
    margins=[['year', 'breakdown', 'breakdown_value'], ['year', 'modality', 'breakdown'], ['year', 'breakdown']],
    partition_by=['year', 'breakdown', "(modality = 'all')"]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

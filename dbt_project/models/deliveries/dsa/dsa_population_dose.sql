{{ config(**incremental_by_year()) }}
{#- One row per year x modality group (CT, X-ray, nuclear medicine ...) x breakdown x breakdown value:
    examination frequency and collective effective dose by the EU Radiation Protection 154 method.

    breakdown is 'total' (breakdown_value 'all'), 'sex' (1 male, 2 female, 9 unknown), 'age_group',
    'residence_rhf' or 'examination_group' (the RP 154 top-20 groups of seed typical_effective_doses,
    'other' for the rest); modality 'all' rows sum every modality. Each examination's effective dose and
    its source (measured x coefficient, imputed code mean, typical dose per examination, none) come from
    int_deliveries__examination_effective_doses; dose records with an implausible finding never enter
    and are counted in n_records_excluded_implausible. Per caput and per 1,000 use the population of
    the same breakdown (seed population; no population by examination group: per caput is over the
    whole population there). Every number is suppressed on its own patients (suppress_small_cells). -#}
{%- set keys = ['year', 'modality', 'breakdown', 'breakdown_value'] -%}
{%- set filters = {
    'with_coefficient': 'has_coefficient',
    'without_coefficient': 'not has_coefficient',
    'with_measured_dose': 'has_measured_dose',
    'without_measured_dose': 'not has_measured_dose',
    'with_dose': 'effective_dose_msv is not null',
    'without_dose': 'effective_dose_msv is null',
    'typical_dose': "dose_source = 'typical'"} -%}
with examinations as (
    select
        e.*, d.examination_group, d.has_coefficient, d.has_measured_dose, d.effective_dose_msv, d.dose_source
    from {{ build_partition_input('int_deliveries__imaging_examinations') }} as e
    inner join
        {{ build_partition_input('int_deliveries__examination_effective_doses') }} as d
        on d.examination_id = e.examination_id
),

implausible as (
    select examination_id, sum(n_records_implausible) as n_records_implausible
    from {{ build_partition_input('int_deliveries__examination_doses') }}
    where n_records_implausible > 0
    group by examination_id
),

per_examination as (
    select e.*, coalesce(i.n_records_implausible, 0) as n_records_implausible
    from examinations as e
    left join implausible as i on i.examination_id = e.examination_id
),

{# count(distinct person_key) over ten grouping sets took DuckDB a distinct hash table per set and
    measure (41 s for five years at scale 0.1, and worse next to another large query); instead one row
    per grouping set x patient first, then counting those rows is the same number (8 s). #}
grouping_sets as (
    -- each modality and all modalities, each by nothing or by one breakdown (1 = across all values)
    select sets.*
    from (
        values
        (0, 1, 1, 1, 1), (0, 0, 1, 1, 1), (0, 1, 0, 1, 1), (0, 1, 1, 0, 1), (0, 1, 1, 1, 0),
        (1, 1, 1, 1, 1), (1, 0, 1, 1, 1), (1, 1, 0, 1, 1), (1, 1, 1, 0, 1), (1, 1, 1, 1, 0)
    ) as sets (all_modalities, all_sexes, all_ages, all_regions, all_groups)
),

per_patient as (
    select
        e.year,
        case when g.all_modalities = 0 then e.modality_group end as modality,
        case when g.all_sexes = 0 then e.sex end as sex,
        case when g.all_ages = 0 then e.age_group end as age_group,
        case when g.all_regions = 0 then e.residence_rhf_name end as residence_rhf_name,
        case when g.all_groups = 0 then e.examination_group end as examination_group,
        g.all_modalities,
        g.all_sexes,
        g.all_ages,
        g.all_regions,
        g.all_groups,
        e.person_key,
        count(*) as n_examinations,
        {%- for name, condition in filters.items() %}
        count(*) filter (where {{ condition }}) as n_examinations_{{ name }},
        {%- endfor %}
        sum(e.n_records_implausible) as n_records_implausible,
        sum(e.effective_dose_msv) as collective_dose_msv
    from per_examination as e
    cross join grouping_sets as g
    group by all
),

grouped as (
    select
        year,
        modality,
        sex,
        age_group,
        residence_rhf_name,
        examination_group,
        all_modalities,
        all_sexes,
        all_ages,
        all_regions,
        all_groups,
        cast(sum(n_examinations) as bigint) as n_examinations,
        -- one row per patient: count(person_key) is count(distinct person_key) over the examinations
        count(person_key) as n_patients,
        {%- for name in filters %}
        cast(sum(n_examinations_{{ name }}) as bigint) as n_examinations_{{ name }},
        count(person_key) filter (where n_examinations_{{ name }} > 0) as n_examinations_{{ name }}__patients,
        {%- endfor %}
        cast(sum(n_records_implausible) as bigint) as n_records_excluded_implausible,
        sum(collective_dose_msv) as collective_dose_msv
    from per_patient
    group by all
),

labelled as (
    select
        year,
        case when all_modalities = 1 then 'all' else modality end as modality,
        case
            when all_sexes = 0 then 'sex'
            when all_ages = 0 then 'age_group'
            when all_regions = 0 then 'residence_rhf'
            when all_groups = 0 then 'examination_group'
            else 'total'
        end as breakdown,
        case
            when all_sexes = 0 then sex
            when all_ages = 0 then age_group
            when all_regions = 0 then residence_rhf_name
            when all_groups = 0 then examination_group
            else 'all'
        end as breakdown_value,
        * exclude (
            year, modality, sex, age_group, residence_rhf_name, examination_group,
            all_modalities, all_sexes, all_ages, all_regions, all_groups
        )
    from grouped
),

population as (
    select year, sex, age_group, residence_rhf_name, population
    from {{ ref('int_deliveries__population') }}
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
    union all
    -- no population by examination group: rates over the whole population
    select p.year, 'examination_group', g.examination_group, sum(p.population)
    from population as p
    cross join (select distinct examination_group from examinations) as g
    group by p.year, g.examination_group
),

cells as (
    select
        l.* exclude (l.collective_dose_msv),
        p.population,
        1000.0 * l.n_examinations / nullif(p.population, 0) as per_1000_inhabitants,
        l.collective_dose_msv / 1000.0 as collective_dose_mansv,
        l.n_examinations_with_dose__patients as collective_dose_mansv__patients,
        l.collective_dose_msv / nullif(p.population, 0) as per_caput_msv,
        l.collective_dose_msv / nullif(l.n_examinations_with_dose, 0) as mean_effective_dose_msv
    from labelled as l
    left join denominators as p
        on p.year = l.year and p.breakdown = l.breakdown and p.breakdown_value = l.breakdown_value
),

{%- set measures = {
    'n_examinations': 'n_patients',
    'n_patients': 'n_patients',
    'n_examinations_with_coefficient': 'n_examinations_with_coefficient__patients',
    'n_examinations_without_coefficient': 'n_examinations_without_coefficient__patients',
    'n_examinations_with_measured_dose': 'n_examinations_with_measured_dose__patients',
    'n_examinations_without_measured_dose': 'n_examinations_without_measured_dose__patients',
    'n_examinations_with_dose': 'n_examinations_with_dose__patients',
    'n_examinations_without_dose': 'n_examinations_without_dose__patients',
    'n_examinations_typical_dose': 'n_examinations_typical_dose__patients',
    'collective_dose_mansv': 'collective_dose_mansv__patients'} %}
{%- set row = keys %}
{#- margins: across modalities ('all' is their total), and for each breakdown across its values (the
    modality's 'total' row is their total); within the row, each "of which" with its hidden remainder -#}
{%- set margins = [['year', 'breakdown', 'breakdown_value', 'measure']] %}
{%- for b in ['sex', 'age_group', 'residence_rhf', 'examination_group'] %}
{%- do margins.append(['year', 'modality', 'measure', "case when breakdown in ('" ~ b ~ "', 'total') then 1 end"]) %}
{%- endfor %}
{%- for part in ['coefficient', 'measured_dose', 'dose'] %}
{%- do margins.append(row + ["case when measure in ('n_examinations', 'n_examinations_with_" ~ part
    ~ "', 'n_examinations_without_" ~ part ~ "') then 1 end"]) %}
{%- endfor %}
{{ suppress_small_cells('cells', keys, measures=measures,
    hidden=['n_examinations_without_coefficient', 'n_examinations_without_measured_dose',
        'n_examinations_without_dose'],
    margins=margins,
    dependents={
        'per_1000_inhabitants': ['n_examinations'],
        'per_caput_msv': ['collective_dose_mansv'],
        'mean_effective_dose_msv': ['collective_dose_mansv', 'n_examinations_with_dose']},
    partition_by=['year', 'breakdown', "(modality = 'all')"]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

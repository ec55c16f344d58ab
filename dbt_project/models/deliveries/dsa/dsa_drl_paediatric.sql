{{ config(**incremental_by_year()) }}
{#- One row per year x paediatric age band x examination code x dose type: the national DRL of children
    by the method of dsa_drl (macro drl_national: P25, P50, P75 of the facility typical values of
    facilities with the minimum sample, the bootstrap 95 % interval of P75, published from
    delivery_param('drl_min_facilities') facilities). Age bands: delivery_param('drl_paediatric_age_bands')
    (macro paediatric_age_band; weight is not reported). A facility's typical value in a band is the
    median of its children's examination doses in that band, with the minimum sample of dsa_drl's
    facilities (macro drl_facility_typical_values). Every band with a child's dose has a row: where no
    facility has the minimum sample, n_facilities is 0 and the row is unpublished; but a band of a
    code with delivery_param('small_cell_max_patients') children or fewer has no row (its existence and
    facility counts would rest on them: docs/domain.md section 7). Facility counts, and examinations
    behind qualifying facilities only (never small): not suppressed otherwise, as dsa_drl. -#}
{%- set keys = ['year', 'age_band', 'procedure_code', 'dose_type'] -%}
with children as (
    select *
    from (
        select *, {{ paediatric_age_band('age') }} as age_band
        from {{ build_partition_input('int_deliveries__imaging_examinations') }}
    ) as banded
    where age_band is not null
),

doses as (
    select * from {{ build_partition_input('int_deliveries__examination_doses') }}
),

facility_values as (
    {{ drl_facility_typical_values('children', 'doses', keys) }}
),

children_per_group as (
    select c.year, c.age_band, c.procedure_code, d.dose_type, count(distinct c.person_key) as n_children
    from children as c
    inner join doses as d on d.examination_id = c.examination_id
    group by c.year, c.age_band, c.procedure_code, d.dose_type
),

{{ drl_national('facility_values', keys, keep_groups_without_facilities=true) }}

select
    d.year,
    d.age_band,
    d.procedure_code,
    d.dose_type,
    d.unit,
    d.n_facilities,
    d.n_facilities_below_minimum,
    d.n_examinations,
    d.is_published,
    d.p25,
    d.p50,
    d.p75,
    d.p75_ci_low,
    d.p75_ci_high,
    d.min_facilities,
    d.n_examinations_excluded,
    d.n_records_excluded_implausible,
    d.bootstrap_resamples,
    d.bootstrap_seed,
    {{ is_provisional('d.year') }} as is_provisional
from drl as d
inner join children_per_group as c using (year, age_band, procedure_code, dose_type)
where c.n_children > {{ delivery_param('small_cell_max_patients') }}

{#- One row per year x facility x examination code x dose type: the facility's typical value (ICRP 135:
    the median over its standard adults' examinations of each examination's dose, the sum of its
    records of that quantity: int_deliveries__examination_doses), and whether it has the minimum sample
    to enter the national DRL (var drl_min_patients, or drl_min_patients_interventional for
    interventions). An examination whose dose of the quantity has an excluded record (implausible, not
    above zero, unknown unit) stays out of the median and is counted in n_examinations_excluded. -#}
with doses as (
    select
        e.year,
        e.facility_id,
        e.institution_orgnr,
        e.procedure_code,
        e.is_interventional,
        e.person_key,
        d.examination_id,
        d.dose_type,
        d.unit,
        d.value,
        d.n_records_implausible
    from {{ ref('int_deliveries__examination_doses') }} as d
    inner join {{ ref('int_deliveries__imaging_examinations') }} as e on e.examination_id = d.examination_id
    where e.is_standard_adult
),

facilities as (
    select
        year,
        facility_id,
        min(institution_orgnr) as institution_orgnr,
        procedure_code,
        dose_type,
        min(unit) as unit,
        bool_or(is_interventional) as is_interventional,
        count(*) filter (where value is not null) as n_examinations,
        count(distinct person_key) filter (where value is not null) as n_patients,
        count(*) filter (where value is null) as n_examinations_excluded,
        coalesce(sum(n_records_implausible), 0) as n_records_excluded_implausible,
        quantile_cont(value, 0.5) as median
    from doses
    group by year, facility_id, procedure_code, dose_type
)

select
    *,
    case when is_interventional then {{ delivery_param('drl_min_patients_interventional') }}
        else {{ delivery_param('drl_min_patients') }}
    end as min_patients,
    n_patients >= case when is_interventional then {{ delivery_param('drl_min_patients_interventional') }}
        else {{ delivery_param('drl_min_patients') }}
    end as meets_minimum
from facilities

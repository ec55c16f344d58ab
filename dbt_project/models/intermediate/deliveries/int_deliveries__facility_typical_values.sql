{#- One row per year x facility x examination code x dose type: the facility's typical value (ICRP 135:
    the median of its standard adults' dose), and whether it has the minimum sample to enter the
    national DRL (var drl_min_patients, or drl_min_patients_interventional for interventions). -#}
with doses as (
    select *
    from {{ ref('int_deliveries__imaging_doses') }}
    where has_activity and is_standard_adult and value is not null
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
        count(*) as n_examinations,
        count(distinct person_key) as n_patients,
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

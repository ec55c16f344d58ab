{#- One row per dose-planning episode (fct_rt_dose_plan: WEGX*, classified in int_procedure_codes),
    counted in the year of the plan. -#}
select
    p.dose_plan_id,
    p.series_id,
    cast(extract(year from p.plan_date) as integer) as year,
    p.plan_date,
    p.planning_code,
    p.person_key,
    coalesce(p.diagnosis_group, s.diagnosis_group, 'unknown') as diagnosis_group,
    coalesce(i.hf_name, 'unknown') as hf_name,
    coalesce(i.rhf_name, 'unknown') as rhf_name
from {{ ref('fct_rt_dose_plan') }} as p
left join {{ ref('int_deliveries__rt_series') }} as s on s.series_id = p.series_id
left join {{ ref('dim_institution') }} as i on i.orgnr = p.institution_orgnr

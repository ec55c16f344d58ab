{{ after_build_fingerprints() }}
{#- One row per year x facility x examination code x dose type: the facility's typical value (ICRP 135:
    the median over its standard adults' examinations of each examination's dose, the sum of its
    records of that quantity: int_deliveries__examination_doses), and whether it has the minimum sample
    to enter the national DRL (var drl_min_patients, or drl_min_patients_interventional for
    interventions). An examination whose dose of the quantity has an excluded record (implausible, not
    above zero, unknown unit) stays out of the median and is counted in n_examinations_excluded.
    The method is the macro drl_facility_typical_values, shared with dsa_drl_paediatric. -#}
{%- set standard_adults -%}
(select * from {{ ref('int_deliveries__imaging_examinations') }} where is_standard_adult)
{%- endset %}
{{ drl_facility_typical_values(standard_adults, ref('int_deliveries__examination_doses')) }}

{#- Linear-quadratic model (docs/domain.md section 3). D total dose, d dose per fraction, ab alpha/beta
    (all Gy). EQD2 = D (d + ab) / (2 + ab); BED = D (1 + d / ab). -#}
{% macro eqd2(total_dose, dose_per_fraction, alpha_beta) -%}
    ({{ total_dose }} * ({{ dose_per_fraction }} + {{ alpha_beta }}) / (2 + {{ alpha_beta }}))
{%- endmacro %}

{% macro bed(total_dose, dose_per_fraction, alpha_beta) -%}
    ({{ total_dose }} * (1 + {{ dose_per_fraction }} / {{ alpha_beta }}))
{%- endmacro %}

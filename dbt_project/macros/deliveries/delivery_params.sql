{#- The parameters of the delivery tables and their defaults: one place. Override any of them with
    `dbt build --vars '{name: value}'`; the model delivery_parameters records the values a build used. -#}
{% macro delivery_param_defaults() -%}
    {{ return({
        'small_cell_max_patients': 4,
        'drl_facility_level': 'equipment',
        'drl_adult_min_age': 18,
        'drl_min_patients': 20,
        'drl_min_patients_interventional': 10,
        'drl_bootstrap_resamples': 500,
        'drl_bootstrap_seed': 20180126,
        'age_group_lower_bounds': [0, 18, 30, 40, 50, 60, 70, 80],
        'cut_date': none,
    }) }}
{%- endmacro %}

{% macro delivery_param(name) -%}
    {%- set defaults = delivery_param_defaults() -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown delivery parameter: " ~ name) }}
    {%- endif -%}
    {{ return(var(name, defaults[name])) }}
{%- endmacro %}

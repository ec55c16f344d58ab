{#- The parameters of the delivery tables. Their defaults are the var delivery_parameter_defaults in
    dbt_project.yml (the one place); a build overrides any of them by its own name
    (`dbt build --vars '{name: value}'`). The model delivery_parameters records the values a build used. -#}
{% macro delivery_param_defaults() -%}
    {{ return(var('delivery_parameter_defaults')) }}
{%- endmacro %}

{% macro delivery_param(name) -%}
    {%- set defaults = delivery_param_defaults() -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown delivery parameter: " ~ name) }}
    {%- endif -%}
    {{ return(var(name, defaults[name])) }}
{%- endmacro %}

{#- Custom schemas are used verbatim (staging, intermediate, marts, reference), not prefixed with
    the target schema, so the served warehouse has the names docs/marts.md promises. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

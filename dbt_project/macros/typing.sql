{#- Typing of lake values in models that are not generated (staging's own casts are written out by
    `python -m extract.model.dbt_sources`, with the same SQL). The lake keeps attributes as strings
    as sent, already schema-valid (the extractor records schema problems). Note: dbt-duckdb renders
    dbt.safe_cast as a plain cast, so a value that does not parse fails the build. -#}
{% macro as_date(column) -%}
    cast({{ dbt.safe_cast(column, api.Column.translate_type('timestamp')) }} as date)
{%- endmacro %}

{% macro as_timestamp(column) -%}
    {{ dbt.safe_cast(column, api.Column.translate_type('timestamp')) }}
{%- endmacro %}

{% macro as_number(column) -%}
    {{ dbt.safe_cast(column, 'double') }}
{%- endmacro %}

{% macro as_int(column) -%}
    {{ dbt.safe_cast(column, api.Column.translate_type('integer')) }}
{%- endmacro %}

{#- A readable natural key: parts joined with ':' (e.g. institution orgnr and local id). -#}
{% macro natural_key(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- if not loop.first %}{% do parts.append("':'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ c ~ " as " ~ api.Column.translate_type('string') ~ "), '')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

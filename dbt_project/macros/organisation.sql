{#- Radiotherapy units sometimes send the site orgnr followed by an extra 0 (10 digits, e.g.
    9745577460 for Haukeland, 974557746; docs/domain.md section 1). Norwegian orgnrs have 9 digits, so
    a 10-digit number ending in 0 is read as its first nine. -#}
{% macro site_orgnr(column) -%}
    case
        when {{ dbt.length(column) }} = 10 and {{ dbt.right(column, 1) }} = '0'
            then substring({{ column }}, 1, 9)
        else {{ column }}
    end
{%- endmacro %}

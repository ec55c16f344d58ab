{#- Canonical units (docs/messages.md section 6): the unit_conversions seed holds every known
    (dose type, unit as sent) with its factor. A unit not in the seed is flagged
    (is_unit_known false) and its value left null: never silently converted. -#}
{% macro with_canonical_units(relation, dose_type, value_as_sent, unit_as_sent) -%}
    select
        r.*,
        c.canonical_unit as unit,
        c.factor as conversion_factor,
        r.{{ value_as_sent }} * c.factor as value,
        c.factor is not null as is_unit_known
    from {{ relation }} as r
    left join {{ ref('unit_conversions') }} as c
        on c.dose_type = r.{{ dose_type }} and c.unit_as_sent = r.{{ unit_as_sent }}
{%- endmacro %}

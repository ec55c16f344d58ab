{#- Counting rules the delivery tables share. One place each. -#}

{#- Age band of the population table: var('age_group_lower_bounds') gives each band's first age. -#}
{% macro age_group(age) -%}
    {%- set bounds = delivery_param('age_group_lower_bounds') -%}
    {#- the bands must be the population seed's: ascending integers from 0 (dsa_population_dose tests
        that every band finds its population) -#}
    {%- if bounds | length == 0 or bounds[0] != 0 or bounds != bounds | sort or bounds | unique | list | length != bounds | length -%}
        {{ exceptions.raise_compiler_error("age_group_lower_bounds must be ascending distinct integers from 0, got " ~ bounds) }}
    {%- endif -%}
    case
        when {{ age }} is null or {{ age }} < 0 then 'unknown'
    {%- for lower in bounds | reverse %}
        {%- set idx = bounds | length - loop.index %}
        {%- if idx == bounds | length - 1 %}
        when {{ age }} >= {{ lower }} then '{{ lower }}+'
        {%- else %}
        when {{ age }} >= {{ lower }} then '{{ lower }}-{{ bounds[idx + 1] - 1 }}'
        {%- endif %}
    {%- endfor %}
    end
{%- endmacro %}

{#- A year's figures are provisional until the end of April of the next year (docs/domain.md section 3). -#}
{% macro is_provisional(year) -%}
    ({{ delivery_cut_date() }} < make_date(cast({{ year }} as integer) + 1, 5, 1))
{%- endmacro %}

{% macro delivery_cut_date() -%}
    {%- set cut = delivery_param('cut_date') -%}
    {%- if cut %}cast('{{ cut }}' as date){% else %}current_date{% endif -%}
{%- endmacro %}

{#- Years before a year that its cumulative-dose windows hold (the longest window, var
    cumulative_dose_windows, less one): a changed year rebuilds the windows of itself and of this many
    years after it (int_deliveries__person_cumulative_doses, dsa_cumulative_dose). -#}
{% macro cumulative_dose_reach() -%}
    {{ return(delivery_param('cumulative_dose_windows') | max - 1) }}
{%- endmacro %}

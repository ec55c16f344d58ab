{#- The time-series delivery tables (config.meta.time_series: every year of the warehouse; a delivery
    takes its year and the delivery_param('trend_years') - 1 years before). One rule each. -#}

{#- True when the period (a year, or one month of it) has ended by the cut date (var cut_date): the
    figures of a period still running are part of a period, and no change is given for them. Not the
    provisional rule (is_provisional): an ended year stays provisional until the end of April after it. -#}
{% macro period_is_over(year, month=none) -%}
    ({{ delivery_cut_date() }} > last_day(make_date(
        cast({{ year }} as integer), {% if month %}coalesce(cast({{ month }} as integer), 12){% else %}12{% endif %}, 1
    )))
{%- endmacro %}

{#- Each row of `relation` beside the row with the same `keys` one year earlier (on monthly rows the same
    month), with for each of `measures`:
      <measure>_change      this year's number - the year before's;
      <measure>_change_pct  that change in per cent of the year before's number (null when it is 0);
    and for each of `carry` the year before's value as previous_<column>.
    The change is taken between published numbers only: a number blanked by suppress_small_cells in
    either year, or no row the year before, gives no change, so a change never reveals a number the
    table does not publish. A period not over at the cut (period_is_over) has no change: part of a
    year against a whole year is no change. `month`, when among the keys, may be null (a yearly row);
    rows are matched with `is not distinct from`. Emits a select statement. -#}
{% macro with_change_from_previous_year(relation, keys, measures, carry=[]) -%}
    {%- set over = period_is_over('cur.year', 'cur.month' if 'month' in keys else none) -%}
    select
        cur.*,
        {%- for m in measures %}
        case when {{ over }} then cur.{{ m }} - prev.{{ m }} end as {{ m }}_change,
        case when {{ over }} then 100.0 * (cur.{{ m }} - prev.{{ m }}) / nullif(prev.{{ m }}, 0) end
            as {{ m }}_change_pct{% if not loop.last or carry %},{% endif %}
        {%- endfor %}
        {%- for c in carry %}
        prev.{{ c }} as previous_{{ c }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }} as cur
    left join {{ relation }} as prev
        on
            prev.year = cur.year - 1
            {%- for k in keys if k != 'year' %}
            and prev.{{ k }} is not distinct from cur.{{ k }}
            {%- endfor %}
{%- endmacro %}

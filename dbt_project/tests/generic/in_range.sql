{#- Fails on every non-null value outside [min_value, max_value] (either may be omitted). With
    allow_zero, 0 passes too: a true zero is no small cell (docs/domain.md section 7). -#}
{% test in_range(model, column_name, min_value=none, max_value=none, allow_zero=false) %}
select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    {%- if allow_zero %}
    and {{ column_name }} <> 0
    {%- endif %}
    and (
        false
        {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
    )
{% endtest %}

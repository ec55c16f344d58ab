{#- Fails on every row where the SQL expression is not true. A null result passes, unless
    fail_on_null (the delivery tables: a figure that cannot be checked is not published). -#}
{% test expression_is_true(model, expression, column_name=none, fail_on_null=false) %}
select *
from {{ model }}
{%- if fail_on_null %}
where not coalesce(({{ expression }}), false)
{%- else %}
where not ({{ expression }})
{%- endif %}
{% endtest %}

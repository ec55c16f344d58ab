{#- Fails on every combination of the columns that occurs more than once (nulls compare equal).
    A delivery table passes its grain, config.meta.grain, as `columns`. -#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

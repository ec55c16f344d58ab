{#- Fails when the model's row count lies outside [min_rows, max_rows] (either may be omitted). -#}
{% test row_count_between(model, min_rows=none, max_rows=none) %}
select n_rows from (select count(*) as n_rows from {{ model }}) as counted
where {% if min_rows is not none %}n_rows < {{ min_rows }}{% else %}false{% endif %}
    or {% if max_rows is not none %}n_rows > {{ max_rows }}{% else %}false{% endif %}
{% endtest %}

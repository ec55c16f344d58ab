{#- One row per delivery parameter: the value this build used (deliveries copy it to their manifest). -#}
{%- set defaults = delivery_param_defaults() %}
{%- for name in defaults | sort %}
select
    '{{ name }}' as parameter,
    '{{ tojson(delivery_param(name)) | replace("'", "''") }}' as value_json,
    '{{ tojson(defaults[name]) | replace("'", "''") }}' as default_json
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}

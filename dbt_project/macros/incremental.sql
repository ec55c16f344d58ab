{#- Incremental staging (orchestration/incremental.py decides when a build may be incremental).
    The lake is append-only: a staging model appends the rows of the lake parts it has not read
    yet, named in its column lake_part. A constant list, so DuckDB skips the parts it names without
    opening them. The orchestration makes the build a full refresh whenever a part it read is gone
    (doctor, rotate-key) or the project changed, so appending is exact. -#}
{% macro new_lake_parts() -%}
    {%- if is_incremental() and execute -%}
        {%- set names = run_query('select distinct lake_part from ' ~ this).columns[0].values() -%}
        {%- if names | length > 0 %}
where parse_filename(filename) not in (
    {%- for name in names | sort %}'{{ name }}'{{ ', ' if not loop.last }}{% endfor -%}
)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

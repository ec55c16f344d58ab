{#-
    Small-cell suppression for every delivery table that counts patients (docs/domain.md section 7).

    Emits CTE definitions (to follow `with <cells> as (...),`) ending in a CTE named `name` that
    holds the published cells only, plus three columns reported with the table:
      - datatap            1 - sum(count of published cells) / sum(count of all cells), per partition
      - n_cells_suppressed cells removed in the partition (primary + secondary)
      - n_cells_total      cells before suppression in the partition

    Rules:
      - primary: a cell whose `count_column` (unique patients) is <= delivery_param('small_cell_max_patients') (4)
        is removed;
      - secondary: for every margin (a list of columns that groups cells into a published or derivable
        total) a group holding exactly one removed cell loses its next smallest cell too, so the total
        minus the other cells does not reveal it. Ties are broken by `key_columns`. The margins are
        applied in order, twice, so a secondary suppression that creates a lone removed cell in an
        earlier margin is caught;
      - sub-counts: a published row's `subcount_columns` (patients "of which", e.g. new patients) are
        blanked (null) when they, or the rest of the row's patients, are 1 to 4.
-#}
{% macro suppress_small_cells(cells, count_column, key_columns, margins, partition_by=['year'], name='published',
    subcount_columns=[]) -%}
    {%- set threshold = delivery_param('small_cell_max_patients') -%}
    {%- set order_cols = key_columns | join(', ') -%}
    {{ name }}__step0 as (
        select *, coalesce({{ count_column }}, 0) <= {{ threshold }} as _is_suppressed
        from {{ cells }}
    ),
    {%- set ns = namespace(prev=name ~ '__step0', step=0) %}
    {%- for _pass in range(2) %}
    {%- for margin in margins %}
    {%- set ns.step = ns.step + 1 %}
    {%- set part = margin | join(', ') if margin | length > 0 else '1' %}
    {{ name }}__rank{{ ns.step }} as (
        select
            *,
            count(*) filter (where _is_suppressed) over (partition by {{ part }}) as _n_suppressed,
            row_number() over (
                partition by {{ part }}, _is_suppressed order by {{ count_column }}, {{ order_cols }}
            ) as _rank_in_state
        from {{ ns.prev }}
    ),
    {{ name }}__step{{ ns.step }} as (
        select
            * exclude (_is_suppressed, _n_suppressed, _rank_in_state),
            _is_suppressed or (_n_suppressed = 1 and _rank_in_state = 1) as _is_suppressed
        from {{ name }}__rank{{ ns.step }}
    ),
    {%- set ns.prev = name ~ '__step' ~ ns.step %}
    {%- endfor %}
    {%- endfor %}
    {{ name }}__loss as (
        select
            *,
            1.0 - coalesce(sum({{ count_column }}) filter (where not _is_suppressed)
                over (partition by {{ partition_by | join(', ') }}), 0)
                / nullif(sum({{ count_column }}) over (partition by {{ partition_by | join(', ') }}), 0)
                as datatap,
            count(*) filter (where _is_suppressed) over (partition by {{ partition_by | join(', ') }})
                as n_cells_suppressed,
            count(*) over (partition by {{ partition_by | join(', ') }}) as n_cells_total
        from {{ ns.prev }}
    ),
    {{ name }} as (
        select
            * exclude (_is_suppressed {%- for sub in subcount_columns %}, {{ sub }}{% endfor %})
            {%- for sub in subcount_columns %},
            case
                when {{ sub }} between 1 and {{ threshold }}
                    or {{ count_column }} - {{ sub }} between 1 and {{ threshold }} then null
                else {{ sub }}
            end as {{ sub }}
            {%- endfor %}
        from {{ name }}__loss
        where not _is_suppressed
    )
{%- endmacro %}

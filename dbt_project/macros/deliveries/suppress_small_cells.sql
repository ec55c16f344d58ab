{#-
    Small-cell suppression for every delivery table that publishes patient-derived numbers
    (docs/domain.md section 7). One rule for every number, whatever it counts.

    Emits CTE definitions (to follow `with <cells> as (...),`) ending in a CTE named `name` that holds
    the cells with every protected number blanked (null), plus three columns reported with the table:
      - datatap            per partition, the largest over the table's published measures of
                           1 - sum(published numbers) / sum(all numbers) of that measure
      - n_cells_suppressed numbers blanked in the partition (primary + secondary, every measure)
      - n_cells_total      numbers in the partition (every published measure of every row)
    A row whose every published number is blanked is removed (its existence is not published).

    Arguments:
      - measures: {measure column: column holding the unique patients behind that number}. Every
        published patient-derived number of the table is one measure.
      - hidden: measures in `cells` that are never published but are derivable from published ones
        (e.g. patients who are not new = n_patients - n_new_patients): they take part in the margins
        and are dropped from the output.
      - margins: each margin is a list of SQL expressions over the key columns and `measure` (the
        measure's name). Rows with equal values of all expressions form one group of numbers that
        add up to a total that is published or derivable (in this table, another table of the same
        delivery, or elsewhere); a row with any expression null is not in that margin. A total row of
        the same table (grouping sets) belongs to its groups by the expressions mapping it there.
      - dependents: {column: [measures]}: a column derived from those measures (a rate, a ratio, a
        dose) is blanked when any of them is.

    Rules:
      - primary: a number with 1 to delivery_param('small_cell_max_patients') unique patients behind
        it (or a non-zero number with no known patient) is protected;
      - secondary: in a margin group, a number is unknown if it is protected or hidden and not zero (a
        hidden remainder that is zero, e.g. no attendance of another care level, is taken as known); when a group
        has exactly one unknown number and that one is protected and not zero (subtraction from the total would
        reveal it), the group's smallest non-zero published number is protected too (a zero only when
        nothing else is left; ties by measure and key).
        All margins are applied in order, six times, so protections that open a new lone unknown in
        an earlier margin are caught.
-#}
{% macro suppress_small_cells(cells, key_columns, measures, margins, partition_by=['year'], name='published',
    hidden=[], dependents={}) -%}
    {%- set threshold = delivery_param('small_cell_max_patients') -%}
    {%- set keys = key_columns | join(', ') -%}
    {{ name }}__long as (
    {%- for measure, behind in measures.items() %}
        select
            {{ keys }},
            '{{ measure }}' as measure,
            cast({{ measure }} as double) as value,
            {{ behind }} as n_behind,
            {{ 'true' if measure in hidden else 'false' }} as _is_hidden
        from {{ cells }}
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
    ),
    {{ name }}__step0 as (
        select
            *,
            coalesce(n_behind between 1 and {{ threshold }}, false)
            or ({{ threshold }} > 0 and coalesce(n_behind, 0) = 0 and coalesce(value, 0) <> 0) as _is_protected
        from {{ name }}__long
    ),
    {%- set ns = namespace(prev=name ~ '__step0', step=0) %}
    {%- for _pass in range(6) %}
    {%- for margin in margins %}
    {%- set ns.step = ns.step + 1 %}
    {%- set part = margin | join(', ') %}
    {{ name }}__rank{{ ns.step }} as (
        select
            *,
            {% for expr in margin %}({{ expr }}) is not null{% if not loop.last %} and {% endif %}{% endfor %}
                as _in_margin,
            count(*) filter (where _is_protected or (_is_hidden and coalesce(value, 0) <> 0))
                over (partition by {{ part }}) as _n_unknown,
            -- a blanked zero needs no protection of its own (it discloses no one)
            count(*) filter (where _is_protected and coalesce(value, 0) <> 0)
                over (partition by {{ part }}) as _n_protected,
            row_number() over (
                partition by {{ part }}, (_is_protected or _is_hidden)
                -- a blanked zero hides nothing: the smallest non-zero number first
                order by coalesce(value, 0) = 0, value, measure, {{ keys }}
            ) as _rank_in_state
        from {{ ns.prev }}
    ),
    {{ name }}__step{{ ns.step }} as (
        select
            * exclude (_is_protected, _in_margin, _n_unknown, _n_protected, _rank_in_state),
            _is_protected
            or (
                _in_margin and _n_unknown = 1 and _n_protected = 1 and not _is_hidden and _rank_in_state = 1
            ) as _is_protected
        from {{ name }}__rank{{ ns.step }}
    ),
    {%- set ns.prev = name ~ '__step' ~ ns.step %}
    {%- endfor %}
    {%- endfor %}
    {{ name }}__numbers as (
        select
            *,
            {% for p in partition_by %}{{ p }} as _partition_{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
        from {{ ns.prev }}
        where not _is_hidden
    ),
    {{ name }}__loss_by_measure as (
        select
            {% for p in partition_by %}_partition_{{ loop.index }}, {% endfor %}measure,
            1.0 - coalesce(sum(value) filter (where not _is_protected), 0) / nullif(sum(value), 0) as loss,
            count(*) filter (where _is_protected) as n_blanked,
            count(*) as n_numbers
        from {{ name }}__numbers
        group by all
    ),
    {{ name }}__loss as (
        select
            {% for p in partition_by %}_partition_{{ loop.index }}, {% endfor %}
            coalesce(max(loss), 0.0) as datatap,
            cast(sum(n_blanked) as bigint) as n_cells_suppressed,
            cast(sum(n_numbers) as bigint) as n_cells_total
        from {{ name }}__loss_by_measure
        group by all
    ),
    {{ name }}__blanked as (
        select
            {{ keys }},
            {% for p in partition_by %}any_value(_partition_{{ loop.index }}) as _partition_{{ loop.index }},
            {% endfor -%}
            bool_and(_is_protected) as _is_all_blanked
            {%- for measure in measures if measure not in hidden %},
            coalesce(bool_or(_is_protected) filter (where measure = '{{ measure }}'), false) as _blank__{{ measure }}
            {%- endfor %}
        from {{ name }}__numbers
        group by {{ keys }}
    ),
    {{ name }} as (
        select
            {%- set dropped = [] %}
            {%- for measure, behind in measures.items() %}
            {%- do dropped.append(measure) %}
            {%- if behind not in measures and behind not in dropped %}{% do dropped.append(behind) %}{% endif %}
            {%- endfor %}
            {%- for column in dependents %}{% do dropped.append(column) %}{% endfor %}
            c.* exclude ({{ dropped | join(', ') }}),
            {%- for measure in measures if measure not in hidden %}
            case when not b._blank__{{ measure }} then c.{{ measure }} end as {{ measure }},
            {%- endfor %}
            {%- for column, bases in dependents.items() %}
            case
                when not ({% for m in bases %}b._blank__{{ m }}{% if not loop.last %} or {% endif %}{% endfor %})
                    then c.{{ column }}
            end as {{ column }},
            {%- endfor %}
            l.datatap,
            l.n_cells_suppressed,
            l.n_cells_total
        from {{ cells }} as c
        inner join {{ name }}__blanked as b
            on {% for k in key_columns %}b.{{ k }} is not distinct from c.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
        inner join {{ name }}__loss as l
            on {% for p in partition_by %}l._partition_{{ loop.index }} is not distinct from b._partition_{{ loop.index }}{% if not loop.last %} and {% endif %}{% endfor %}
        where not b._is_all_blanked
    )
{%- endmacro %}

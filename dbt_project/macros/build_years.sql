{#- Delivery tables (and the intermediate tables behind them) partitioned by year (README, "A registry
    that lives for years").

    A year's rows of a per-year delivery table depend only on that year's rows of its inputs (or, with
    years_after, on the years_after years before it too), the seeds, the delivery parameters and the
    year's state (provisional, months ended by the cut date). int_deliveries__build_fingerprints
    records, at every build, a fingerprint of each input's rows per year and of that state; a year
    whose fingerprint changed since the build before (or appeared, or vanished) is a build year. A
    model configured with incremental_by_year() recomputes only the build years: its pre-hook
    deletes their rows, its inputs are read through build_year_input() (only the build years' rows),
    and the rows it selects are appended. Exact by construction, whatever changed the inputs (a new
    file, a B resend of last year, an E change, a new ide file, a year turning final); no rule of
    what a file touches is written twice. Any other change (the dbt project, a lake part rewritten)
    makes the whole build a full refresh (orchestration/incremental.py), and on a full refresh every
    year is a build year. The data tests of these tables look at the build years only
    (get_where_subquery below). -#}

{#- The row-level inputs of the year-partitioned tables, each with the expression of its year. -#}
{% macro build_year_inputs() -%}
    {{ return({
        'int_deliveries__imaging_examinations': 'year',
        'int_deliveries__imaging_doses': 'year',
        'int_referrals__examination_waits': 'extract(year from examination_date)',
        'int_episode_id_reuses': 'extract(year from episode_date)',
        'int_deliveries__population': 'year',
    }) }}
{%- endmacro %}

{#- The config of a year-partitioned table: incremental, its build years deleted before the append.
    years_after: a year's rows also depend on the years_after years before it (a window over years:
    int_deliveries__person_cumulative_doses), so a changed year rebuilds itself and the years_after
    years that follow it. -#}
{% macro incremental_by_year(years_after=0) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ delete_build_years() }}",
        'meta': {'partitioned_by': 'year', 'build_years_after': years_after},
    }) }}
{%- endmacro %}

{#- SQL true for the rows of the years this build recomputes: true on a full build (or while dbt
    parses), false when no year changed. Each build year y stands for the years y - years_before to
    y + years_after (a window model reads the years before the ones it rebuilds). node: another
    partitioned model than the one being built (a data test's). -#}
{% macro build_years_filter(year_column='year', years_before=0, years_after=0, node=none) -%}
    {%- set years = build_years(node) -%}
    {%- if years is none -%}
        true
    {%- elif years | length == 0 -%}
        false
    {%- else -%}
        {%- set reached = [] -%}
        {%- for year in years -%}
            {%- for y in range(year | int - years_before, year | int + years_after + 1) -%}
                {%- if y not in reached -%}{%- do reached.append(y) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {{ year_column }} in ({{ reached | sort | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- The input `name` as a relation holding only the build years' rows (the plain ref on a full build);
    years_before/years_after widen each build year as in build_years_filter. -#}
{% macro build_year_input(name, year_column='year', years_before=0, years_after=0) -%}
    {%- set relation = ref(name) -%}
    {%- set filter = build_years_filter(year_column, years_before, years_after) -%}
    {%- if filter == 'true' -%}
        {{ relation }}
    {%- else -%}
        (select * from {{ relation }} where {{ filter }})
    {%- endif -%}
{%- endmacro %}

{#- on-run-end: year-partitioned tables built without int_deliveries__build_fingerprints (a partial
    `dbt build --select`, perhaps with other --vars) recomputed every year, and their rows then match
    no recorded fingerprint: the record is cleared, so the next build recomputes every year again.
    Once per invocation, after the models (in a pre-hook, two models deleting at once conflict). -#}
{% macro forget_build_fingerprints() -%}
    {%- if execute and not build_fingerprints_selected() -%}
        {%- set partitioned = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.unique_id in selected_resources and node.resource_type == 'model'
                and node.config.get('meta', {}).get('partitioned_by') == 'year' -%}
                {%- do partitioned.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set fingerprints = adapter.get_relation(**build_fingerprints_relation(as_parts=true)) -%}
        {%- if partitioned and fingerprints is not none -%}
            delete from {{ fingerprints }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The fingerprints table, found in the graph (a data test may not ref it); as_parts: as the
    keyword arguments of adapter.get_relation. -#}
{% macro build_fingerprints_relation(as_parts=false) -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.int_deliveries__build_fingerprints'] -%}
    {%- set parts = {'database': node.database, 'schema': node.schema, 'identifier': node.alias} -%}
    {{ return(parts if as_parts else api.Relation.create(**parts)) }}
{%- endmacro %}

{% macro build_fingerprints_selected() -%}
    {{ return('model.' ~ project_name ~ '.int_deliveries__build_fingerprints' in selected_resources) }}
{%- endmacro %}

{% macro delete_build_years() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ build_years_output_filter() }}
    {%- endif -%}
{%- endmacro %}

{#- The rows a year-partitioned model (default: the one being built) holds for this build: of its build
    years and the years they reach (incremental_by_year's years_after). -#}
{% macro build_years_output_filter(year_column='year', node=none) -%}
    {%- set node = model if node is none else node -%}
    {%- set years_after = node.config.get('meta', {}).get('build_years_after', 0) if execute else 0 -%}
    {{ build_years_filter(year_column, years_after=years_after, node=node) }}
{%- endmacro %}

{#- The years whose fingerprint differs between this build and the one before, or none (every year):
    not incremental, or the fingerprints were not rebuilt in this invocation (a partial selection
    must not trust the last build's record). node: the partitioned model asked about (default: the
    model being built); for another one, incremental means this invocation is not a full refresh. -#}
{% macro build_years(node=none) -%}
    {%- if not execute -%}
        {#- while parsing: the dependency (a unit test, never incremental, must not need the model) -#}
        {%- do ref('int_deliveries__build_fingerprints') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = model if node is none else node -%}
    {%- if node.resource_type != 'model' or node.config.get('meta', {}).get('partitioned_by') != 'year' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set incremental = is_incremental() if node.unique_id == model.unique_id else not flags.FULL_REFRESH -%}
    {%- if not incremental -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set fingerprints = build_fingerprints_relation() -%}
    {%- if not build_fingerprints_selected() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        with builds as (
            select max(build_no) as current_no from {{ fingerprints }}
        ),
        current_build as (
            select f.* from {{ fingerprints }} as f, builds as b where f.build_no = b.current_no
        ),
        previous_build as (
            select f.* from {{ fingerprints }} as f, builds as b where f.build_no = b.current_no - 1
        ),
        changed as (
            select coalesce(c.year, p.year) as year
            from current_build as c
            full outer join previous_build as p
                on p.input_name = c.input_name and p.year is not distinct from c.year
            where c.row_hash is distinct from p.row_hash or c.n_rows is distinct from p.n_rows
        )
        select
            -- no build to compare with, or rows without a year changed: every year
            (select count(*) from previous_build) = 0
            or exists (select 1 from changed where year is null) as every_year,
            coalesce((select string_agg(distinct cast(year as varchar), ',' order by cast(year as varchar))
                from changed), '') as years
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- if result.columns[0].values()[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set years = result.columns[1].values()[0] -%}
    {{ return(years.split(',') if years else []) }}
{%- endmacro %}

{#- Data tests of a year-partitioned model see only the years this build recomputed (and the years
    they reach): the other years' rows are the ones the last build tested, unchanged. Every data test
    on these models is row- or year-local (not_null, in_range, accepted_values, expression_is_true,
    unique keys within a year). A full refresh or a partial build tests every row. Overrides dbt's
    get_where_subquery (the `where` config of a test), which it still honours. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- if node is not none and node.config.get('meta', {}).get('partitioned_by') == 'year' -%}
        {%- set years = build_years_output_filter('year', node=node) -%}
        {%- if years != 'true' -%}
            {%- set where = years ~ (' and (' ~ where ~ ')' if where else '') -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- Tables partitioned by what a build changed (README, "A registry that lives for years"), in four
    stages: the correction tables (the episode versions, the patient keys, the imaging episode
    groups and the referral chain: by institution, every rule in them is within one institution),
    the imaging tables behind the facts (by the year of the episode group,
    int_imaging__episode_groups), the imaging facts with their double reports (by the year of the
    examination or dose date) and the delivery tables with the intermediate tables behind them (by
    year of activity).

    A partition's rows of such a table depend only on what its stage fingerprints for that partition
    (or, for years with years_after, for the years_after years before it too), on what it
    fingerprints without a partition, and on the seeds; for deliveries also on the delivery
    parameters and the year's state (provisional, months ended by the cut date). Each stage's
    fingerprints model (int_<stage>__build_fingerprints) records, at every build, a fingerprint of
    each input's rows per partition (and of that state); a partition whose fingerprint changed since
    the build before (or appeared, or vanished) is a build partition of the stage. A model configured
    with incremental_by_year() or incremental_by_institution() recomputes only its stage's build
    partitions: its pre-hook deletes their rows, its inputs are read through build_partition_input()
    (only the build partitions' rows), and the rows it selects are appended. Exact by construction,
    whatever changed the inputs (a new file, a B resend of last year, an E change, a new ide file, a
    year turning final); no rule of what a file touches is written twice. Any other change (the dbt
    project, a lake part rewritten) makes the whole build a full refresh
    (orchestration/incremental.py), and on a full refresh every partition is a build partition. The
    data tests of these tables look at the build partitions only (get_where_subquery below). -#}

{#- The stages of partitioned tables. Each has its fingerprints model, which records its row-level
    inputs per partition (each with the expression of its partition; 'null': rows without one, whose
    change makes every partition a build partition), and its partition column and type. The stages
    compare the last two records of their fingerprints: the corrections stage first (by institution:
    a month of files touches a few), the imaging stage (int_imaging__*, partitioned by the year of the
    episode group, int_imaging__episode_groups), the imaging facts (by the year of the examination
    date: a double report pairs two examinations of one day, and an episode group may span a year's
    end), the deliveries stage after them.
    The correction inputs are what the stage's tables read from below it, row for row. The imaging
    inputs stand for what the tables read: a current version names its file (file_id, a hash of the
    file's bytes), whose rows never change, so a year's staging rows (and the extractor's findings on
    them, written with the file) change only with its versions. int_procedure_codes: an unlisted code's class
    depends on every module's use of it, so a code the lists lack that appears anywhere rebuilds
    every year (only a class change needs it, but the fingerprints cannot tell). -#}
{% macro build_stages() -%}
    {#- corrections: what its tables read from staging, row for row -#}
    {%- set corrections = {
        'int_files': 'institution_orgnr',
        'int_episode_deliveries': 'institution_orgnr',
        'int_deletions': 'institution_orgnr',
        'stg_npr_ide__person_idents': 'institution_orgnr',
    } -%}
    {%- for lake_table, name in {'patient': 'patients', 'episode': 'episodes', 'referral_period': 'referral_periods'}.items() -%}
        {%- for module in npr_modules(lake_table) -%}
            {%- do corrections.update({'stg_npr_' ~ module ~ '__' ~ name: 'institution_orgnr'}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return({
        'corrections': {
            'fingerprints': 'int_corrections__build_fingerprints',
            'partition': {'column': 'institution_orgnr', 'type': 'varchar'},
            'inputs': corrections,
        },
        'imaging': {
            'fingerprints': 'int_imaging__build_fingerprints',
            'partition': {'column': 'year', 'type': 'integer'},
            'inputs': {
                'int_imaging__episode_groups': 'year',
                'int_imaging__patient_years': 'year',
                'int_units': 'null',
                'int_procedure_codes': 'null',
            },
        },
        'imaging_facts': {
            'fingerprints': 'int_imaging_facts__build_fingerprints',
            'partition': {'column': 'year', 'type': 'integer'},
            'inputs': {
                'int_imaging__examinations': examination_year('examination_date'),
                'int_imaging__doses': examination_year('dose_date'),
                'int_procedure_codes': 'null',
            },
        },
        'deliveries': {
            'fingerprints': 'int_deliveries__build_fingerprints',
            'partition': {'column': 'year', 'type': 'integer'},
            'inputs': {
                'int_deliveries__imaging_examinations': 'year',
                'int_deliveries__imaging_doses': 'year',
                'int_referrals__examination_waits': 'extract(year from examination_date)',
                'int_episode_id_reuses': 'extract(year from episode_date)',
                'int_deliveries__population': 'year',
            },
        },
    }) }}
{%- endmacro %}

{#- The year of an imaging fact (stage imaging_facts): of its examination or dose date (0 without
    one, so that such a row still has a partition). A double report pairs two examinations of one
    day, so both fall in the same year. -#}
{% macro examination_year(date_column) -%}
    coalesce(cast(extract(year from {{ date_column }}) as integer), 0)
{%- endmacro %}

{#- The config of a year-partitioned table: incremental, its build years deleted before the append.
    years_after: a year's rows also depend on the years_after years before it (a window over years:
    int_deliveries__person_cumulative_doses), so a changed year rebuilds itself and the years_after
    years that follow it. stage: whose fingerprints decide the build years (build_stages). column:
    the year's expression in the table's rows, when it has no column of the stage's name (a mart
    under contract: the imaging facts). -#}
{% macro incremental_by_year(years_after=0, stage='deliveries', column=none) -%}
    {{ return(incremental_by_partition(stage, years_after, column)) }}
{%- endmacro %}

{#- The config of a table partitioned by institution (stage corrections): every rule it applies is
    within one institution, so an institution whose inputs did not change keeps its rows. -#}
{% macro incremental_by_institution(stage='corrections') -%}
    {{ return(incremental_by_partition(stage)) }}
{%- endmacro %}

{% macro incremental_by_partition(stage, years_after=0, column=none) -%}
    {%- do after_build_fingerprints(stage) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ delete_build_partitions() }}",
        'meta': {
            'partitioned_by': column or build_stages()[stage]['partition']['column'],
            'build_years_after': years_after,
            'build_stage': stage,
        },
    }) }}
{%- endmacro %}

{#- A partitioned model (and a view whose data tests see the build partitions only) runs after its
    stage's fingerprints model, whose record of this build says what changed. The dependency is
    recorded while dbt parses (a unit test, never incremental, must not need it). -#}
{% macro after_build_fingerprints(stage='deliveries') -%}
    {%- if not execute -%}
        {%- do ref(build_stages()[stage]['fingerprints']) -%}
    {%- endif -%}
{%- endmacro %}

{#- SQL true for the rows of the partitions this build recomputes: true on a full build (or while dbt
    parses), false when no partition changed. column: the partition's expression in the rows read.
    Years: each build year y stands for the years y - years_before to y + years_after (a window model
    reads the years before the ones it rebuilds). node: another partitioned model than the one being
    built (a data test's). -#}
{% macro build_partitions_filter(column='year', years_before=0, years_after=0, node=none) -%}
    {%- set values = build_partitions(node) -%}
    {%- if values is none -%}
        true
    {%- elif values | length == 0 -%}
        false
    {%- elif partition_of(node)['type'] == 'integer' -%}
        {%- set reached = [] -%}
        {%- for year in values -%}
            {%- for y in range(year | int - years_before, year | int + years_after + 1) -%}
                {%- if y not in reached -%}{%- do reached.append(y) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {{ column }} in ({{ reached | sort | join(', ') }})
    {%- else -%}
        {%- set quoted = [] -%}
        {%- for value in values | sort -%}
            {%- do quoted.append("'" ~ (value | replace("'", "''")) ~ "'") -%}
        {%- endfor -%}
        {{ column }} in ({{ quoted | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- The stage's partition (column, type) of a partitioned model (default: the one being built). -#}
{% macro partition_of(node=none) -%}
    {%- set node = model if node is none else node -%}
    {{ return(build_stages()[node.config.get('meta', {}).get('build_stage', 'deliveries')]['partition']) }}
{%- endmacro %}

{#- The input `name` as a relation holding only the build partitions' rows (the plain ref on a full
    build); column: the partition's expression in its rows; years_before/years_after widen each build
    year as in build_partitions_filter. -#}
{% macro build_partition_input(name, column='year', years_before=0, years_after=0) -%}
    {%- set relation = ref(name) -%}
    {%- set filter = build_partitions_filter(column, years_before, years_after) -%}
    {%- if filter == 'true' -%}
        {{ relation }}
    {%- else -%}
        (select * from {{ relation }} where {{ filter }})
    {%- endif -%}
{%- endmacro %}

{#- on-run-end: a stage's record stays true only if the build ran, with success, its fingerprints
    model and every partitioned table of the stage. A partial `dbt build --select` (perhaps with
    other --vars) that ran a partitioned table without the fingerprints recomputed every partition
    of it, and its rows then match no recorded fingerprint; one that ran the fingerprints without
    every partitioned table (not selected, failed or skipped) moved the record past partitions those
    tables did not rebuild. Either way the stage's record is cleared, so the next build recomputes
    every partition again. Once per invocation, after the models (in a pre-hook, two models deleting
    at once conflict). results: dbt's results of the invocation. -#}
{% macro forget_build_fingerprints(results) -%}
    {%- if execute -%}
        {%- set succeeded = [] -%}
        {%- for result in results if result.status == 'success' -%}
            {%- do succeeded.append(result.node.unique_id) -%}
        {%- endfor -%}
        {%- for stage in build_stages() -%}
            {#- the stage's fingerprints model and its partitioned tables -#}
            {%- set touched, stage_models = [], [build_fingerprints_id(stage)] -%}
            {%- for node in graph.nodes.values() -%}
                {%- if node.resource_type == 'model'
                    and node.config.get('meta', {}).get('partitioned_by')
                    and node.config.get('meta', {}).get('build_stage', 'deliveries') == stage -%}
                    {%- do stage_models.append(node.unique_id) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for unique_id in stage_models if unique_id in selected_resources -%}
                {%- do touched.append(unique_id) -%}
            {%- endfor -%}
            {%- set complete = stage_models | reject('in', succeeded) | list | length == 0 -%}
            {%- set fingerprints = adapter.get_relation(**build_fingerprints_relation(stage, as_parts=true))
                if touched and not complete else none -%}
            {%- if fingerprints is not none %}
            delete from {{ fingerprints }};
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A stage's fingerprints table, found in the graph (a data test may not ref it); as_parts: as the
    keyword arguments of adapter.get_relation. -#}
{% macro build_fingerprints_relation(stage, as_parts=false) -%}
    {%- set node = graph.nodes[build_fingerprints_id(stage)] -%}
    {%- set parts = {'database': node.database, 'schema': node.schema, 'identifier': node.alias} -%}
    {{ return(parts if as_parts else api.Relation.create(**parts)) }}
{%- endmacro %}

{% macro build_fingerprints_id(stage) -%}
    {{ return('model.' ~ project_name ~ '.' ~ build_stages()[stage]['fingerprints']) }}
{%- endmacro %}

{% macro delete_build_partitions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ build_partitions_output_filter(model.config.get('meta', {}).get('partitioned_by')) }}
    {%- endif -%}
{%- endmacro %}

{#- The rows a partitioned model (default: the one being built) holds for this build: of its build
    partitions and the years they reach (incremental_by_year's years_after). -#}
{% macro build_partitions_output_filter(column='year', node=none) -%}
    {%- set node = model if node is none else node -%}
    {%- set years_after = node.config.get('meta', {}).get('build_years_after', 0) if execute else 0 -%}
    {{ build_partitions_filter(column, years_after=years_after, node=node) }}
{%- endmacro %}

{#- The partitions (years, institutions) whose fingerprint differs between this build and the one
    before, or none (every partition): not incremental, or the fingerprints were not rebuilt in this
    invocation (a partial selection must not trust the last build's record). node: the partitioned
    model asked about (default: the model being built); for another one, incremental means this
    invocation is not a full refresh. -#}
{% macro build_partitions(node=none) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = model if node is none else node -%}
    {%- if node.resource_type != 'model' or not node.config.get('meta', {}).get('partitioned_by') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set incremental = is_incremental() if node.unique_id == model.unique_id else not flags.FULL_REFRESH -%}
    {%- if not incremental -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set stage = node.config.get('meta', {}).get('build_stage', 'deliveries') -%}
    {%- set fingerprints = build_fingerprints_relation(stage) -%}
    {%- if build_fingerprints_id(stage) not in selected_resources -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set key = build_stages()[stage]['partition']['column'] -%}
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
            select coalesce(c.{{ key }}, p.{{ key }}) as partition_value
            from current_build as c
            full outer join previous_build as p
                on p.input_name = c.input_name and p.{{ key }} is not distinct from c.{{ key }}
            where c.row_hash is distinct from p.row_hash or c.n_rows is distinct from p.n_rows
        )
        select
            -- no build to compare with, or rows without a partition changed: every partition
            (select count(*) from previous_build) = 0
            or exists (select 1 from changed where partition_value is null) as every_partition,
            to_json(coalesce(
                (select list(distinct partition_value order by partition_value) from changed), []
            )) as partition_values
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- if result.columns[0].values()[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(fromjson(result.columns[1].values()[0])) }}
{%- endmacro %}

{#- Data tests of a partitioned model see only the partitions this build recomputed (and the years
    they reach): the other partitions' rows are the ones the last build tested, unchanged. Every data
    test on these models is row- or partition-local (not_null, in_range, accepted_values,
    expression_is_true, unique keys within a partition). A full refresh or a partial build tests
    every row. Two views of intermediate/deliveries (the examination doses, the facilities' typical
    values) declare meta partitioned_by year too, for their data tests only (and call
    after_build_fingerprints): a year's rows of them come from that year's rows of the views the
    deliveries stage fingerprints, so an unchanged year is an untouched one. The fingerprinted views
    themselves cannot: their tests run before this build's record exists. Overrides dbt's
    get_where_subquery (the `where` config of a test), which it still honours. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- set column = node.config.get('meta', {}).get('partitioned_by') if node is not none else none -%}
    {%- if column -%}
        {%- set partitions = build_partitions_output_filter(column, node=node) -%}
        {%- if partitions != 'true' -%}
            {%- set where = partitions ~ (' and (' ~ where ~ ')' if where else '') -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- The body of a stage's fingerprints model: one row per input x partition with the number of rows
    and an order-free fingerprint (the sum of the rows' hashes), under the next build_no (1 after a
    full refresh). A caller block adds rows of its own (input_name, <partition column>, n_rows,
    row_hash); it may read CTE row_inputs. -#}
{% macro build_fingerprints(stage) -%}
    {%- set previous_build_no = '(select max(build_no) from ' ~ this ~ ')' if is_incremental() else 'null' %}
    {%- set partition = build_stages()[stage]['partition'] %}
with this_build as (
    select coalesce({{ previous_build_no }}, 0) + 1 as build_no
),

row_inputs as (
    {%- for name, expression in build_stages()[stage]['inputs'].items() %}
    select
        '{{ name }}' as input_name,
        cast({{ expression }} as {{ partition['type'] }}) as {{ partition['column'] }},
        count(*) as n_rows,
        -- hash(t): of the whole row
        sum(cast(hash(t) as hugeint)) as row_hash
    from {{ ref(name) }} as t  -- noqa: AL05
    group by all
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

fingerprints as (
    select * from row_inputs
    {%- if caller is defined %}
    union all
    {{ caller() }}
    {%- endif %}
)

select b.build_no, f.input_name, f.{{ partition['column'] }}, f.n_rows, f.row_hash
from fingerprints as f
cross join this_build as b
{%- endmacro %}

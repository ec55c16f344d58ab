{#- How intermediate models read staging in its current state: only rows of loaded files, in their
    current version. Staging holds every version as sent; the rule itself lives in
    int_episode_versions (docs/messages.md section 8); these macros only apply it. -#}

{#- ref(name); in a model partitioned by institution (partition_column 'institution_orgnr', macro
    build_stages), only the rows of the institutions this build recomputes. -#}
{% macro read_input(name, partition_column=none) -%}
    {%- if partition_column -%}
        {{ build_partition_input(name, partition_column) }}
    {%- else -%}
        {{ ref(name) }}
    {%- endif -%}
{%- endmacro %}

{#- Rows of an episode-scoped staging model stg_npr_<module>__<name> (the Episode subtree; in str
    the ApparatFremmote and Dosebidrag rows; in rad the dose events) that belong to the current
    version of their episode, with version_date (uttakDato of the file of that version).
    partition_column: as in read_input. -#}
{% macro current_episode_rows(module, name, partition_column=none) -%}
    select
        -- a reused id's later incarnations carry '<id>#<n>' (int_episode_versions): both count
        s.* exclude (lake_part) replace (v.episode_key as episode_id),
        v.valid_from_date as version_date
    from {{ read_input('stg_npr_' ~ module ~ '__' ~ name, partition_column) }} as s
    inner join {{ read_input('int_episode_versions', partition_column) }} as v
        on
            v.module = '{{ module }}'
            and v.is_current
            and v.file_id = s.file_id
            and v.institution_orgnr = s.institution_orgnr
            and v.episode_id = s.episode_id
{%- endmacro %}

{#- current_episode_rows of a raa, ord or rad model with the year of the episode group
    (int_imaging__episode_groups): the partition of the year-partitioned imaging tables. Only the
    build years' rows in an incremental build (the model being built is one of those tables). -#}
{% macro current_imaging_rows(module, name) -%}
    select c.*, g.year
    from ({{ current_episode_rows(module, name) }}) as c
    {{ 'left' if build_partitions_filter() == 'true' else 'inner' }} join
        {{ build_partition_input('int_imaging__episode_groups') }} as g
        on
            g.module = '{{ module }}'
            and g.institution_orgnr = c.institution_orgnr
            and g.episode_key = c.episode_id
            and g.file_id = c.file_id
{%- endmacro %}

{#- Rows of a context staging model stg_npr_<module>__<name> (Pasient, Enhet, Utstyr,
    Behandlingsserie, Referansevolum, PasientIdent) in the version of the latest loaded file that
    holds the key (institution_orgnr + key_columns): later files overwrite earlier values.
    partition_column: as in read_input. -#}
{% macro current_context_rows(module, name, key_columns, partition_column=none) -%}
    {%- set versions -%}
        (
            select
                s.* exclude (lake_part),
                f.extraction_date as file_extraction_date,
                f.file_seq
            from {{ read_input('stg_npr_' ~ module ~ '__' ~ name, partition_column) }} as s
            inner join {{ read_input('int_files', partition_column) }} as f
                on f.file_id = s.file_id and f.module = '{{ module }}' and f.institution_orgnr = s.institution_orgnr
        )
    {%- endset %}
    select * exclude (file_extraction_date, file_seq, row_rank)
    from (
        {{ keep_first(versions, ['institution_orgnr'] + key_columns,
            ['file_extraction_date desc', 'file_seq desc', 'record_no desc']) }}
    ) as latest
{%- endmacro %}

{#- The first row per group in the given order (an extra column row_rank = 1). -#}
{% macro keep_first(relation, partition_by, order_by) -%}
    select *
    from (
        select
            r.*,
            row_number() over (partition by {{ partition_by | join(', ') }} order by {{ order_by | join(', ') }})
                as row_rank
        from {{ relation }} as r
    ) as ranked
    where row_rank = 1
{%- endmacro %}

{#- A register kept in every skeleton module (units, equipment): the union over the modules whose
    lake has `lake_table` of the current rows of stg_npr_<module>__<name>, keeping per key
    (institution_orgnr + key_columns) the version of the latest file. partition_column: as in
    read_input. -#}
{% macro latest_across_modules(name, lake_table, key_columns, partition_column=none) -%}
    {%- set versions -%}
        (
            {%- for module in npr_modules(lake_table) %}
            select
                r.*,
                f.extraction_date,
                f.file_seq
            from ({{ current_context_rows(module, name, key_columns, partition_column) }}) as r
            inner join {{ read_input('int_files', partition_column) }} as f
                on f.file_id = r.file_id and f.module = '{{ module }}' and f.institution_orgnr = r.institution_orgnr
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        )
    {%- endset %}
    {{ keep_first(versions, ['institution_orgnr'] + key_columns, ['extraction_date desc', 'file_seq desc', 'file_id desc']) }}
{%- endmacro %}

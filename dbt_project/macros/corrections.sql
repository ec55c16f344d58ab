{#- How staging reads the lake: only rows of loaded files, in their current version.
    The rule itself lives in stg_npr__episode_versions; these macros only apply it. -#}

{#- Rows of an episode-scoped lake table (the Episode subtree; in str the ApparatFremmote and
    Dosebidrag rows; in rad the dose events) that belong to the current version of their episode. -#}
{% macro current_episode_rows(module, table) -%}
    select s.*, v.valid_from_date as version_date
    from {{ source('npr_' ~ module, table) }} as s
    inner join {{ ref('stg_npr__episode_versions') }} as v
        on
            v.module = '{{ module }}'
            and v.is_current
            and v.file_id = s.file_id
            and v.institution_orgnr = s.institusjonID
            and v.episode_id = s.episodeID
{%- endmacro %}

{#- Rows of a context lake table (Pasient, Enhet, Utstyr, Behandlingsserie, Referansevolum,
    PasientIdent) in the version of the latest loaded file that holds the key: later files
    overwrite earlier values. -#}
{% macro current_context_rows(module, table, key_columns) -%}
    {%- set versions -%}
        (
            select s.*, f.extraction_date as file_extraction_date, f.file_seq
            from {{ source('npr_' ~ module, table) }} as s
            inner join {{ ref('stg_npr__files') }} as f
                on f.file_id = s.file_id and f.module = '{{ module }}' and f.institution_orgnr = s.institusjonID
        )
    {%- endset %}
    {{ keep_first(versions, ['institusjonID'] + key_columns,
        ['file_extraction_date desc', 'file_seq desc', 'record_no desc']) }}
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

{#- A register kept in every skeleton module (units, equipment): the union of the staging models
    stg_npr_<module>__<name> of the modules whose lake has `lake_table`, keeping per key the
    version of the latest file. -#}
{% macro latest_across_modules(name, lake_table, key_columns) -%}
    {%- set versions -%}
        (
            {%- for module in npr_modules(lake_table) %}
            select r.*, f.extraction_date, f.file_seq
            from {{ ref('stg_npr_' ~ module ~ '__' ~ name) }} as r
            inner join {{ ref('stg_npr__files') }} as f
                on f.file_id = r.file_id and f.module = '{{ module }}' and f.institution_orgnr = r.institution_orgnr
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        )
    {%- endset %}
    {{ keep_first(versions, key_columns, ['extraction_date desc', 'file_seq desc', 'file_id desc']) }}
{%- endmacro %}

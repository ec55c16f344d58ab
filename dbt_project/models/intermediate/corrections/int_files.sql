{#- The loaded files per (institution, module) in correction order: uttakDato, then lopenr
    (numerically where it is a number). Duplicate and rejected files are not here: only files
    the ledger records as loaded count. Everything downstream derives from this set, so the var
    cut_ingested_at (an ISO timestamp) rebuilds the warehouse as it was at a past cut: only files
    ingested by then count (`dbt build --vars '{cut_ingested_at: "2026-02-01T00:00:00"}'`). -#}
{%- set modules = npr_modules('institution') %}

with institution_files as (
    {%- for module in modules %}
    select distinct
        file_id,
        module,
        institution_orgnr,
        message_type,
        period_from,
        period_to,
        extraction_date,
        lopenr
    from {{ ref('stg_npr_' ~ module ~ '__institutions') }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

loaded as (
    {%- set ts = api.Column.translate_type('timestamp') %}
    {%- set cut = var('cut_ingested_at', none) %}
    {%- set cut_at = "cast('" ~ cut ~ "' as " ~ ts ~ ")" %}
    select distinct file_id
    from {{ ref('stg_lake__ledger') }}
    where status = 'loaded'{% if cut %} and cast(ingested_at as {{ ts }}) <= {{ cut_at }}{% endif %}
)

select
    f.file_id,
    f.module,
    f.institution_orgnr,
    f.message_type,
    f.period_from,
    f.period_to,
    f.extraction_date,
    f.lopenr,
    row_number() over (
        partition by f.institution_orgnr, f.module
        order by f.extraction_date, {{ as_int('f.lopenr') }}, f.lopenr, f.file_id
    ) as file_seq
from institution_files as f
inner join loaded as l on l.file_id = f.file_id

{{ config(materialized='view') }}
{#- One row per Slett (withdrawal of an episode, change messages) in any module's file. -#}
{%- for module in npr_modules('deletion') %}
select distinct
    file_id,
    '{{ module }}' as module,
    institusjonID as institution_orgnr,
    episodeID as episode_id
from {{ source('npr_' ~ module, 'deletion') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}

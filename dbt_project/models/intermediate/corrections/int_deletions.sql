{{ config(materialized='view') }}
{#- One row per Slett (withdrawal of an episode, change messages) in any module's file. -#}
{%- for module in npr_modules('deletion') %}
select distinct
    file_id,
    module,
    institution_orgnr,
    episode_id
from {{ ref('stg_npr_' ~ module ~ '__deletions') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}

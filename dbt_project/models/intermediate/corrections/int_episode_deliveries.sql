{{ config(materialized='view') }}
{#- One row per (file, institution, episode) the lake holds: every Episode of str/raa/ord, and for
    rad (no Episode) every episodeID its dose events carry. episode_date decides which B files
    cover the episode (Episode/@innDatoTid; rad ApparatFremmote/@startDatoTid). -#}
{%- for module in npr_modules('episode') %}
select
    file_id,
    '{{ module }}' as module,
    institution_orgnr,
    episode_id,
    min(patient_local_id) as patient_local_id,
    min(episode_date) as episode_date
from {{ ref('stg_npr_' ~ module ~ '__episodes') }}
group by file_id, institution_orgnr, episode_id
union all
{%- endfor %}
select
    file_id,
    'rad' as module,
    institution_orgnr,
    episode_id,
    min(patient_local_id) as patient_local_id,
    min(cast(started_at as date)) as episode_date
from {{ ref('stg_npr_rad__dose_events') }}
group by file_id, institution_orgnr, episode_id

{{ config(materialized='view') }}
{#- One row per (file, institution, episode) the lake holds: every Episode of str/raa/ord, and for
    rad (no Episode) every episodeID its dose events carry. episode_date decides which B files
    cover the episode (Episode/@innDatoTid; rad ApparatFremmote/@startDatoTid). -#}
{%- for module in npr_modules('episode') %}
select
    file_id,
    '{{ module }}' as module,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    min(pasientNr) as patient_local_id,
    min({{ as_date('innDatoTid') }}) as episode_date
from {{ source('npr_' ~ module, 'episode') }}
group by file_id, institusjonID, episodeID
union all
{%- endfor %}
select
    file_id,
    'rad' as module,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    min(pasientNr) as patient_local_id,
    min({{ as_date('startDatoTid') }}) as episode_date
from {{ source('npr_rad', 'dose_event') }}
group by file_id, institusjonID, episodeID

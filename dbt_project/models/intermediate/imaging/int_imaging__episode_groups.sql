{{ config(**incremental_by_institution()) }}
{#- One row per current version of a raa, ord or rad episode, with the year of its episode group:
    the earliest year (episode_date) of the current raa, ord and rad episodes that share the
    institution and episode key. An examination (raa or ord) and the rad dose that points to it share
    that key, so every row of one examination and its doses falls in one year: the partition the
    year-partitioned imaging tables rebuild (macro build_stages, stage 'imaging'). Itself
    partitioned by institution (stage 'corrections'): a group is within one institution. -#}
select
    module,
    institution_orgnr,
    episode_key,
    file_id,
    patient_local_id,
    cast(min(extract(year from episode_date)) over (partition by institution_orgnr, episode_key) as integer)
        as year
from {{ build_partition_input('int_episode_versions', 'institution_orgnr') }}
where is_current and module in ('raa', 'ord', 'rad')

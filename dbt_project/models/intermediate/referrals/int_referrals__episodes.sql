{#- One row per current episode (every module with episodes) that names a referral period
    (Episode/@henvisningsperiodeID), with the period the institution sent under that id, if any:
    an id is unique per institution, whichever module sent the period. Partitioned by institution
    (macro build_stages, stage 'corrections'). -#}
{{ config(**incremental_by_institution()) }}
with episodes as (
    {%- for module in npr_modules('episode') %}
    select module, institution_orgnr, episode_id, episode_date, referral_local_id
    from ({{ current_episode_rows(module, 'episodes', 'institution_orgnr') }}) as current_{{ module }}
    where referral_local_id is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

periods as (
    select * from {{ build_partition_input('int_referrals__periods', 'institution_orgnr') }}
)

select
    e.module,
    e.institution_orgnr,
    e.episode_id,
    e.episode_date,
    e.referral_local_id,
    {{ natural_key(['e.institution_orgnr', 'e.referral_local_id']) }} as referral_id,
    p.referral_local_id is not null as is_referral_found,
    p.received_date,
    p.seniority_date
from episodes as e
left join periods as p
    on p.institution_orgnr = e.institution_orgnr and p.referral_local_id = e.referral_local_id

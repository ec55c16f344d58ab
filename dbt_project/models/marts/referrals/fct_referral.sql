{#- One row per referral period (Henvisningsperiode; institution + henvisningsperiodeID) in its
    latest sent version, with the number of current episodes that name it. Partitioned by
    institution (macro build_stages, stage 'corrections'). -#}
{{ config(**incremental_by_institution()) }}
with named as (
    select institution_orgnr, referral_local_id, count(*) as n_episodes
    from {{ build_partition_input('int_referrals__episodes', 'institution_orgnr') }}
    group by institution_orgnr, referral_local_id
)

select
    cast(p.referral_id as varchar) as referral_id,
    cast(p.institution_orgnr as varchar) as institution_orgnr,
    cast(p.referral_local_id as varchar) as referral_local_id,
    cast(p.person_key as varchar) as person_key,
    cast(p.is_person_resolved as boolean) as is_person_resolved,
    cast(p.received_date as date) as received_date,
    cast(p.seniority_date as date) as seniority_date,
    cast(p.referral_type as varchar) as referral_type,
    cast(p.from_institution_orgnr as varchar) as from_institution_orgnr,
    cast(p.module as varchar) as source_module,
    cast(coalesce(n.n_episodes, 0) as integer) as n_episodes,
    cast(p.file_id as varchar) as source_file_id
from {{ build_partition_input('int_referrals__periods', 'institution_orgnr') }} as p
left join named as n
    on n.institution_orgnr = p.institution_orgnr and n.referral_local_id = p.referral_local_id

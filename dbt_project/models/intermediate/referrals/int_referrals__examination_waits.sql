{#- One row per examination (raa) or ZXM image-guided procedure (ord) of int_imaging__examinations
    with the referral period its episode names and the waiting time from the period's
    ansiennitetsdato to the examination date (docs/domain.md section 8). Without a usable period
    (none named, never sent, or its ansiennitetsdato after the examination) there is no wait. -#}
with examinations as (
    select examination_id, source_module, institution_orgnr, episode_id, examination_date
    from {{ ref('int_imaging__examinations') }}
),

linked as (
    select
        e.examination_id,
        e.source_module,
        e.institution_orgnr,
        e.episode_id,
        e.examination_date,
        r.referral_local_id,
        r.referral_id,
        r.received_date,
        r.seniority_date,
        case
            when r.referral_local_id is null then 'none'
            when not r.is_referral_found then 'not_found'
            when r.seniority_date > e.examination_date then 'after_examination'
            else 'linked'
        end as referral_status
    from examinations as e
    left join {{ ref('int_referrals__episodes') }} as r
        on
            r.module = e.source_module
            and r.institution_orgnr = e.institution_orgnr
            and r.episode_id = e.episode_id
)

select
    *,
    case
        when referral_status = 'linked' then date_diff('day', seniority_date, examination_date)
    end as wait_days
from linked

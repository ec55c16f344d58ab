{#- One row per treatment series (int_rt__series) with its referral period and waiting time
    (docs/domain.md section 8): the period is the one named by the series' earliest current episode
    that names one (planning or treatment); the wait runs from its ansiennitetsdato to the first
    treatment fraction. A series without a usable period (none named, the named period never sent,
    or its ansiennitetsdato after the first fraction) has no wait and is counted apart. -#}
with series as (
    select series_id, institution_orgnr, first_treatment_date from {{ ref('int_rt__series') }}
),

named as (
    select
        a.series_id,
        a.attendance_date,
        a.episode_id,
        r.referral_local_id,
        r.referral_id,
        r.is_referral_found,
        r.received_date,
        r.seniority_date
    from {{ ref('int_rt__attendances') }} as a
    inner join {{ ref('int_referrals__episodes') }} as r
        on r.module = 'str' and r.institution_orgnr = a.institution_orgnr and r.episode_id = a.episode_id
    where a.series_id is not null
),

first_named as (
    {{ keep_first('named', ['series_id'], ['attendance_date', 'episode_id']) }}
),

linked as (
    select
        s.series_id,
        s.institution_orgnr,
        s.first_treatment_date,
        f.referral_local_id,
        f.referral_id,
        f.received_date,
        f.seniority_date,
        case
            when f.referral_local_id is null then 'none'
            when not f.is_referral_found then 'not_found'
            when f.seniority_date > s.first_treatment_date then 'after_first_fraction'
            else 'linked'
        end as referral_status
    from series as s
    left join first_named as f on f.series_id = s.series_id
)

select
    *,
    case
        when referral_status = 'linked' then date_diff('day', seniority_date, first_treatment_date)
    end as wait_days
from linked

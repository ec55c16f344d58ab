{{ config(materialized='table') }}
{#- THE correction rule (docs/messages.md section 8), the one place every module's current state comes
    from. One row per (module, institution, episode, file that delivered it). A version stays valid
    until, in correction order within (institution, module), the first later file that
      - delivers the same episode again (resent: B resend or E change), or
      - withdraws it with Slett (E), or
      - is a B file whose period covers the episode's day and does not deliver it (omitted).
    Current state = versions with no end. History is every row: a past cut is re-derived by
    taking the versions whose file and superseding file were (not) among the files it used. -#}

with deliveries as (
    select * from {{ ref('int_episode_deliveries') }}
),

files as (
    select * from {{ ref('int_files') }}
),

versions as (
    select
        d.module,
        d.institution_orgnr,
        d.episode_id,
        d.file_id,
        f.file_seq,
        f.message_type,
        f.extraction_date,
        d.patient_local_id,
        d.episode_date,
        lead(f.file_seq) over (
            partition by d.module, d.institution_orgnr, d.episode_id order by f.file_seq
        ) as resent_seq
    from deliveries as d
    inner join files as f
        on f.file_id = d.file_id and f.module = d.module and f.institution_orgnr = d.institution_orgnr
),

deletions as (
    select d.module, d.institution_orgnr, d.episode_id, f.file_seq
    from {{ ref('int_deletions') }} as d
    inner join files as f
        on f.file_id = d.file_id and f.module = d.module and f.institution_orgnr = d.institution_orgnr
),

deleted_after as (
    select v.module, v.institution_orgnr, v.episode_id, v.file_seq, min(s.file_seq) as deleted_seq
    from versions as v
    inner join deletions as s
        on
            s.module = v.module
            and s.institution_orgnr = v.institution_orgnr
            and s.episode_id = v.episode_id
            and s.file_seq > v.file_seq
    group by v.module, v.institution_orgnr, v.episode_id, v.file_seq
),

omitted_after as (
    select v.module, v.institution_orgnr, v.episode_id, v.file_seq, min(b.file_seq) as omitted_seq
    from versions as v
    inner join files as b
        on
            b.module = v.module
            and b.institution_orgnr = v.institution_orgnr
            and b.message_type = 'B'
            and b.file_seq > v.file_seq
            and v.episode_date between b.period_from and b.period_to
    group by v.module, v.institution_orgnr, v.episode_id, v.file_seq
),

ended as (
    select
        v.*,
        d.deleted_seq,
        o.omitted_seq,
        -- the first event after this version ends it (nulls mean "never")
        case
            when v.resent_seq is not null
                and (d.deleted_seq is null or v.resent_seq <= d.deleted_seq)
                and (o.omitted_seq is null or v.resent_seq <= o.omitted_seq)
                then 'resent'
            when d.deleted_seq is not null and (o.omitted_seq is null or d.deleted_seq <= o.omitted_seq)
                then 'deleted'
            when o.omitted_seq is not null then 'omitted_from_batch'
        end as ended_by
    from versions as v
    left join deleted_after as d
        on
            d.module = v.module and d.institution_orgnr = v.institution_orgnr
            and d.episode_id = v.episode_id and d.file_seq = v.file_seq
    left join omitted_after as o
        on
            o.module = v.module and o.institution_orgnr = v.institution_orgnr
            and o.episode_id = v.episode_id and o.file_seq = v.file_seq
)

select
    e.module,
    e.institution_orgnr,
    e.episode_id,
    e.file_id,
    e.file_seq,
    e.message_type,
    e.extraction_date as valid_from_date,
    e.patient_local_id,
    e.episode_date,
    e.ended_by,
    t.file_id as valid_to_file_id,
    t.extraction_date as valid_to_date,
    e.ended_by is null as is_current,
    -- the latest version of the episode, current or withdrawn (for reconciliation)
    e.resent_seq is null as is_latest_version
from ended as e
left join files as t
    on
        t.module = e.module and t.institution_orgnr = e.institution_orgnr
        and t.file_seq = case e.ended_by
            when 'resent' then e.resent_seq
            when 'deleted' then e.deleted_seq
            when 'omitted_from_batch' then e.omitted_seq
        end

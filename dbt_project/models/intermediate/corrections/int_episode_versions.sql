{{ config(**incremental_by_institution()) }}
{#- THE correction rule (docs/messages.md section 8), the one place every module's current state comes
    from. One row per (module, institution, episode, file that delivered it).

    An episode id is meant to be unique per institution for ever. A later delivery of the id
    continues an earlier version only for the same patient and from a file whose period covers the
    earlier version's day (or a file of the same period: a resend); otherwise the sender reused the
    id: the later delivery starts a new incarnation of the id (finding episode_id_reused, see
    int_episode_id_reuses) and both count. incarnation_no numbers them; episode_key is the id the
    rest of the warehouse sees (the id itself for the first, '<id>#<n>' for the n-th).

    A version stays valid until, in correction order within (institution, module), the first later
    file that
      - delivers the same incarnation again (resent: B resend or E change), or
      - withdraws the id with Slett (E): the latest incarnation delivered before the Slett, or
      - is a B file whose period covers the episode's day and does not deliver the id at all
        (omitted).
    Current state = versions with no end. History is every row: a past cut is re-derived by
    taking the versions whose file and superseding file were (not) among the files it used.
    Every rule is within one institution: partitioned by it (macro build_stages, stage
    'corrections'), a build recomputes only the institutions whose files changed. -#}

with deliveries as (
    select * from {{ build_partition_input('int_episode_deliveries', 'institution_orgnr') }}
),

files as (
    select * from {{ build_partition_input('int_files', 'institution_orgnr') }}
),

delivered as (
    select
        d.module,
        d.institution_orgnr,
        d.episode_id,
        d.file_id,
        f.file_seq,
        f.message_type,
        f.extraction_date,
        f.period_from,
        f.period_to,
        d.patient_local_id,
        d.episode_date
    from deliveries as d
    inner join files as f
        on f.file_id = d.file_id and f.module = d.module and f.institution_orgnr = d.institution_orgnr
),

repeated as (
    -- ids delivered more than once (about one in eight): only they need the continuation rule; an
    -- id delivered once is its own first incarnation, never resent (skips the self-join and the
    -- window sorts for most rows)
    select module, institution_orgnr, episode_id
    from delivered
    group by module, institution_orgnr, episode_id
    having count(*) > 1
),

delivered_again as (
    select d.*
    from delivered as d
    semi join repeated as r
        on r.module = d.module and r.institution_orgnr = d.institution_orgnr and r.episode_id = d.episode_id
),

anchored as (
    -- the earliest delivery this one continues (itself when it continues none)
    select
        v.module,
        v.institution_orgnr,
        v.episode_id,
        v.file_seq,
        min(u.file_seq) as anchor_seq
    from delivered_again as v
    inner join delivered_again as u
        on
            u.module = v.module
            and u.institution_orgnr = v.institution_orgnr
            and u.episode_id = v.episode_id
            and u.file_seq <= v.file_seq
            and (
                u.file_seq = v.file_seq
                or (
                    u.patient_local_id is not distinct from v.patient_local_id
                    and (
                        u.episode_date between v.period_from and v.period_to
                        or (u.period_from = v.period_from and u.period_to = v.period_to)
                    )
                )
            )
    group by v.module, v.institution_orgnr, v.episode_id, v.file_seq
),

versions as (
    select
        v.*,
        a.anchor_seq,
        dense_rank() over (
            partition by v.module, v.institution_orgnr, v.episode_id order by a.anchor_seq
        ) as incarnation_no,
        lead(v.file_seq) over (
            partition by v.module, v.institution_orgnr, v.episode_id, a.anchor_seq order by v.file_seq
        ) as resent_seq
    from delivered_again as v
    inner join anchored as a
        on
            a.module = v.module and a.institution_orgnr = v.institution_orgnr
            and a.episode_id = v.episode_id and a.file_seq = v.file_seq
    union all
    select
        d.*,
        d.file_seq as anchor_seq,
        1 as incarnation_no,
        null as resent_seq
    from delivered as d
    anti join repeated as r
        on r.module = d.module and r.institution_orgnr = d.institution_orgnr and r.episode_id = d.episode_id
),

deletions as (
    -- each Slett withdraws the latest incarnation delivered before it
    select s.module, s.institution_orgnr, s.episode_id, s.file_seq, max(v.anchor_seq) as anchor_seq
    from (
        select d.module, d.institution_orgnr, d.episode_id, f.file_seq
        from {{ build_partition_input('int_deletions', 'institution_orgnr') }} as d
        inner join files as f
            on f.file_id = d.file_id and f.module = d.module and f.institution_orgnr = d.institution_orgnr
    ) as s
    inner join versions as v
        on
            v.module = s.module and v.institution_orgnr = s.institution_orgnr
            and v.episode_id = s.episode_id and v.file_seq < s.file_seq
    group by s.module, s.institution_orgnr, s.episode_id, s.file_seq
),

deleted_after as (
    select v.module, v.institution_orgnr, v.episode_id, v.file_seq, min(s.file_seq) as deleted_seq
    from versions as v
    inner join deletions as s
        on
            s.module = v.module
            and s.institution_orgnr = v.institution_orgnr
            and s.episode_id = v.episode_id
            and s.anchor_seq = v.anchor_seq
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
    -- a B file that delivers the id (in any incarnation) does not omit it
    where not exists (
            select 1
            from delivered as same_id
            where
                same_id.module = b.module and same_id.institution_orgnr = b.institution_orgnr
                and same_id.file_seq = b.file_seq and same_id.episode_id = v.episode_id
        )
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
    e.incarnation_no,
    case when e.incarnation_no = 1 then e.episode_id else e.episode_id || '#' || e.incarnation_no end
        as episode_key,
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
    -- the latest version of the incarnation, current or withdrawn (for reconciliation)
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

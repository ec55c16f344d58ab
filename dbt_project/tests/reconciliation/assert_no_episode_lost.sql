{#- Reconciliation against the lake: every episode of a loaded file whose latest version is
    current reaches its mart, and no withdrawn episode does. Read from the lake sources directly
    (not staging), so a join lost in staging or intermediate shows up here.
      str: each episode -> fct_rt_attendance
      raa: each Prosedyre -> fct_imaging_examination
      ord: each Prosedyre with a ZXM code -> fct_imaging_examination
      rad: each Doseindikator -> fct_imaging_dose -#}
with loaded as (
    select distinct file_id from {{ source('lake', 'ledger') }} where status = 'loaded'
),

state as (
    -- per episode (incarnation of a reused id: episode_key): current (its latest version is
    -- valid) or withdrawn, and the latest file
    select module, institution_orgnr, episode_id, episode_key, file_id, is_current
    from {{ ref('int_episode_versions') }}
    where is_latest_version
),

expected as (
    select
        'str' as module, e.institusjonID as institution_orgnr, s.episode_key as episode_id,
        cast(null as integer) as procedure_no, 1 as n_lake
    from {{ source('npr_str', 'episode') }} as e
    inner join state as s
        on s.module = 'str' and s.institution_orgnr = e.institusjonID and s.episode_id = e.episodeID
            and s.file_id = e.file_id and s.is_current
    inner join loaded as l on l.file_id = e.file_id
    group by e.institusjonID, s.episode_key
    union all
    select 'raa', p.institusjonID, s.episode_key, cast(p.prosNr as integer), 1
    from {{ source('npr_raa', 'procedure') }} as p
    inner join state as s
        on s.module = 'raa' and s.institution_orgnr = p.institusjonID and s.episode_id = p.episodeID
            and s.file_id = p.file_id and s.is_current
    inner join loaded as l on l.file_id = p.file_id
    group by p.institusjonID, s.episode_key, cast(p.prosNr as integer)
    union all
    select 'ord', c.institusjonID, s.episode_key, cast(c.prosNr as integer), 1
    from {{ source('npr_ord', 'procedure_code') }} as c
    inner join state as s
        on s.module = 'ord' and s.institution_orgnr = c.institusjonID and s.episode_id = c.episodeID
            and s.file_id = c.file_id and s.is_current
    inner join loaded as l on l.file_id = c.file_id
    where c.kodeVerdi like 'ZXM%'
    group by c.institusjonID, s.episode_key, cast(c.prosNr as integer)
    union all
    select 'rad', d.institusjonID, s.episode_key, cast(d.prosNr as integer), count(*)
    from {{ source('npr_rad', 'dose_indicator') }} as d
    inner join state as s
        on s.module = 'rad' and s.institution_orgnr = d.institusjonID and s.episode_id = d.episodeID
            and s.file_id = d.file_id and s.is_current
    inner join loaded as l on l.file_id = d.file_id
    group by d.institusjonID, s.episode_key, cast(d.prosNr as integer)
),

withdrawn as (
    select module, institution_orgnr, episode_key as episode_id from state where not is_current
),

in_marts as (
    select
        'str' as module, institution_orgnr, episode_id, cast(null as integer) as procedure_no,
        count(*) as n_marts
    from {{ ref('fct_rt_attendance') }}
    group by institution_orgnr, episode_id
    union all
    select source_module, institution_orgnr, episode_id, procedure_no, count(*)
    from {{ ref('fct_imaging_examination') }}
    group by source_module, institution_orgnr, episode_id, procedure_no
    union all
    select 'rad', institution_orgnr, episode_id, procedure_no, count(*)
    from {{ ref('fct_imaging_dose') }}
    where dose_type <> 'ADMINISTERED_ACTIVITY'
    group by institution_orgnr, episode_id, procedure_no
)

select
    'missing or miscounted in marts' as problem, x.module, x.institution_orgnr, x.episode_id, x.procedure_no,
    x.n_lake, m.n_marts
from expected as x
left join in_marts as m
    on
        m.module = x.module and m.institution_orgnr = x.institution_orgnr and m.episode_id = x.episode_id
        and coalesce(m.procedure_no, -1) = coalesce(x.procedure_no, -1)
where m.n_marts is null or m.n_marts <> x.n_lake
union all
select 'withdrawn but in marts', w.module, w.institution_orgnr, w.episode_id, m.procedure_no, null, m.n_marts
from withdrawn as w
inner join in_marts as m
    on m.module = w.module and m.institution_orgnr = w.institution_orgnr and m.episode_id = w.episode_id

{#- One row per ord Prosedyre (current version) whose main code is image-guided by nature (seed
    image_guided_code_groups: the group of the longest matching code prefix), with or without a ZXM
    image-guidance code: the denominator of ZXM coding completeness (docs/domain.md section 4). Such
    a procedure without a ZXM code is no imaging activity (int_imaging__procedures keeps only ord
    procedures with one), so this is the only place it is counted. Main code and guidance code as
    int_imaging__procedures takes them. -#}
with ord_codes as (
    {{ current_episode_rows('ord', 'procedure_codes') }}
),

codes as (
    select procedure_code, is_guidance_code, is_ionising from {{ ref('int_procedure_codes') }}
),

procedures as (
    select
        o.institution_orgnr,
        o.episode_id,
        o.procedure_no,
        min(o.code_no) as main_code_no,
        -- any ionising guidance code makes the procedure ionising (ZXM00 with ZXM10 is ZXM10)
        coalesce(
            min(case when z.is_guidance_code and z.is_ionising then o.code end),
            min(case when z.is_guidance_code then o.code end)
        ) as guidance_code,
        min(cast(o.measure_started_at as date)) as measure_date
    from ord_codes as o
    left join codes as z on z.procedure_code = o.code
    group by o.institution_orgnr, o.episode_id, o.procedure_no
),

main_codes as (
    select p.*, c.code as procedure_code
    from procedures as p
    inner join ord_codes as c
        on
            c.institution_orgnr = p.institution_orgnr
            and c.episode_id = p.episode_id
            and c.procedure_no = p.procedure_no
            and c.code_no = p.main_code_no
),

grouped as (
    select
        m.*,
        g.code_group,
        g.code_prefix,
        row_number() over (
            partition by m.institution_orgnr, m.episode_id, m.procedure_no
            order by length(g.code_prefix) desc, g.code_prefix
        ) as match_rank
    from main_codes as m
    inner join {{ ref('image_guided_code_groups') }} as g on starts_with(m.procedure_code, g.code_prefix)
),

episodes as (
    {{ current_episode_rows('ord', 'episodes') }}
)

select
    g.institution_orgnr,
    g.episode_id,
    g.procedure_no,
    g.procedure_code,
    g.code_group,
    g.code_prefix,
    coalesce(g.measure_date, e.episode_date) as procedure_date,
    g.guidance_code,
    g.guidance_code is not null as has_zxm,
    coalesce(z.is_ionising, false) as has_ionising_zxm
from grouped as g
inner join episodes as e
    on e.institution_orgnr = g.institution_orgnr and e.episode_id = g.episode_id
left join codes as z on z.procedure_code = g.guidance_code
where g.match_rank = 1

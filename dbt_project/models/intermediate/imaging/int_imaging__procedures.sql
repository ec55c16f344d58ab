{{ config(**incremental_by_year(stage='imaging')) }}
{#- One row per imaging-relevant procedure, before enrichment: every Prosedyre of raa (an
    examination; its main code is the first Kode) and every Prosedyre of ord that carries a ZXM
    image-guidance code (modality and ionising flag from the ZXM code). Partitioned by the year of
    the episode group (int_imaging__episode_groups). -#}
with raa_codes as (
    {{ current_imaging_rows('raa', 'procedure_codes') }}
),

ord_codes as (
    {{ current_imaging_rows('ord', 'procedure_codes') }}
),

codes as (
    select * from {{ ref('int_procedure_codes') }}
),

raa as (
    select
        institution_orgnr,
        episode_id,
        procedure_no,
        year,
        min(code_no) as main_code_no,
        max(case when code = 'ZTX0EA' then 1 else 0 end) = 1 as has_contrast,
        min(cast(measure_started_at as date)) as measure_date,
        count(*) as n_codes
    from raa_codes
    group by institution_orgnr, episode_id, procedure_no, year
),

raa_main as (
    select
        'raa' as source_module,
        r.institution_orgnr,
        r.episode_id,
        r.procedure_no,
        c.code as procedure_code,
        cast(null as {{ api.Column.translate_type('string') }}) as guidance_code,
        r.has_contrast,
        r.measure_date,
        r.year
    from raa as r
    inner join raa_codes as c
        on
            c.institution_orgnr = r.institution_orgnr
            and c.episode_id = r.episode_id
            and c.procedure_no = r.procedure_no
            and c.code_no = r.main_code_no
),

ord_guided as (
    select
        o.institution_orgnr,
        o.episode_id,
        o.procedure_no,
        o.year,
        -- any ionising guidance code makes the procedure ionising (ZXM00 with ZXM10 is ZXM10)
        coalesce(
            min(case when z.is_guidance_code and z.is_ionising then o.code end),
            min(case when z.is_guidance_code then o.code end)
        ) as guidance_code,
        min(o.code_no) as main_code_no,
        min(cast(o.measure_started_at as date)) as measure_date
    from ord_codes as o
    left join codes as z on z.procedure_code = o.code
    group by o.institution_orgnr, o.episode_id, o.procedure_no, o.year
    having max(case when z.is_guidance_code then 1 else 0 end) = 1
),

ord_main as (
    select
        'ord' as source_module,
        g.institution_orgnr,
        g.episode_id,
        g.procedure_no,
        c.code as procedure_code,
        g.guidance_code,
        false as has_contrast,
        g.measure_date,
        g.year
    from ord_guided as g
    inner join ord_codes as c
        on
            c.institution_orgnr = g.institution_orgnr
            and c.episode_id = g.episode_id
            and c.procedure_no = g.procedure_no
            and c.code_no = g.main_code_no
),

procedures as (
    select * from raa_main
    union all
    select * from ord_main
)

select
    p.source_module,
    p.institution_orgnr,
    p.episode_id,
    p.procedure_no,
    p.procedure_code,
    p.guidance_code,
    p.has_contrast,
    p.measure_date,
    -- raa: the NCRP code's own class; ord: the guidance code's
    coalesce(g.modality, m.modality) as modality,
    coalesce(g.modality_group, m.modality_group) as modality_group,
    coalesce(g.is_ionising, m.is_ionising, false) as is_ionising,
    p.year
from procedures as p
left join codes as m on m.procedure_code = p.procedure_code
left join codes as g on g.procedure_code = p.guidance_code

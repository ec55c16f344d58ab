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
    -- the main code is the first Kode (the lowest code_no): arg_min, not a join back to the codes
    select
        'raa' as source_module,
        institution_orgnr,
        episode_id,
        procedure_no,
        arg_min(code, code_no) as procedure_code,
        cast(null as {{ api.Column.translate_type('string') }}) as guidance_code,
        max(case when code = 'ZTX0EA' then 1 else 0 end) = 1 as has_contrast,
        min(cast(measure_started_at as date)) as measure_date,
        year
    from raa_codes
    group by institution_orgnr, episode_id, procedure_no, year
),

ord_guided as (
    select
        'ord' as source_module,
        o.institution_orgnr,
        o.episode_id,
        o.procedure_no,
        arg_min(o.code, o.code_no) as procedure_code,
        -- any ionising guidance code makes the procedure ionising (ZXM00 with ZXM10 is ZXM10)
        coalesce(
            min(case when z.is_guidance_code and z.is_ionising then o.code end),
            min(case when z.is_guidance_code then o.code end)
        ) as guidance_code,
        false as has_contrast,
        min(cast(o.measure_started_at as date)) as measure_date,
        o.year
    from ord_codes as o
    left join codes as z on z.procedure_code = o.code
    group by o.institution_orgnr, o.episode_id, o.procedure_no, o.year
    having max(case when z.is_guidance_code then 1 else 0 end) = 1
),

procedures as (
    select * from raa
    union all
    select * from ord_guided
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

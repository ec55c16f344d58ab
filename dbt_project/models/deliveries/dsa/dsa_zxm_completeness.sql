{#- One row per year x month x reporting institution x code group: how many of its ord procedures that
    are image-guided by nature (seed image_guided_code_groups, int_imaging__zxm_coding) carry a ZXM
    image-guidance code at all, and an ionising one (ZXM10/20/70) (docs/domain.md section 4). A
    procedure without one is in no other table: it is neither imaging activity nor dosed. Every
    procedure as reported (the ord half of a double report too: this is the ord coding).
    Institution-level quality figures, not patient counts: not suppressed. -#}
with procedures as (
    select
        cast(extract(year from procedure_date) as integer) as year,
        cast(extract(month from procedure_date) as integer) as month,
        institution_orgnr,
        code_group,
        has_zxm,
        has_ionising_zxm
    from {{ ref('int_imaging__zxm_coding') }}
)

select
    year,
    month,
    institution_orgnr,
    code_group,
    count(*) as n_procedures,
    count(*) filter (where has_zxm) as n_with_zxm,
    count(*) filter (where has_ionising_zxm) as n_with_ionising_zxm,
    count(*) filter (where not has_zxm) as n_without_zxm,
    count(*) filter (where has_zxm) / count(*) as share_with_zxm,
    {{ is_provisional('year') }} as is_provisional
from procedures
group by year, month, institution_orgnr, code_group

{#- One row per year x reporting institution: how often it reported the same image-guided procedure
    twice, as an NCRP intervention in raa and as an NCSP/NCMP procedure with a ZXM code in ord (docs/
    domain.md section 4; pairs from int_imaging__double_reports, counted once in every other table).
    n_procedures counts the image-guided procedures once (raa interventions and ord ZXM procedures,
    less the ord repeats); the share is of those. Institution-level quality figures, not patient
    counts: not suppressed. -#}
with procedures as (
    select
        cast(extract(year from examination_date) as integer) as year,
        institution_orgnr,
        source_module,
        is_double_reported
    from {{ ref('int_imaging__guided_procedures') }}
)

select
    year,
    institution_orgnr,
    count(*) filter (where source_module = 'raa') as n_raa_interventions,
    count(*) filter (where source_module = 'ord') as n_ord_guided_procedures,
    count(*) filter (where not is_double_reported) as n_procedures,
    count(*) filter (where is_double_reported) as n_double_reported,
    count(*) filter (where is_double_reported) / nullif(count(*) filter (where not is_double_reported), 0)
        as share_double_reported,
    {{ is_provisional('year') }} as is_provisional
from procedures
group by year, institution_orgnr

{#- One row per image-guided procedure as reported (docs/domain.md section 4): a raa examination with an
    NCRP intervention code, or an ord procedure with a ZXM code; the ord half of a double report
    (int_imaging__double_reports) flagged, with the raa examination it repeats. The candidates of
    double reporting, side by side: what dsa_double_reporting counts per institution. -#}
with examinations as (
    select * from {{ ref('int_imaging__examinations') }}
),

interventions as (
    select procedure_code from {{ ref('int_procedure_codes') }} where is_intervention_code
),

doubles as (
    select * from {{ ref('int_imaging__double_reports') }}
)

select
    e.examination_id,
    e.source_module,
    e.institution_orgnr,
    e.examination_date,
    e.procedure_code,
    e.guidance_code,
    e.is_ionising,
    d.double_examination_id is not null as is_double_reported,
    d.kept_examination_id as double_report_of
from examinations as e
left join doubles as d on d.double_examination_id = e.examination_id
where
    e.source_module = 'ord'
    or (e.source_module = 'raa' and e.procedure_code in (select i.procedure_code from interventions as i))

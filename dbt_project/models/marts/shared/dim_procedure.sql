{#- One row per procedure code (NCRP, NCSP, NCMP, ZXM, and unlisted codes the data uses) with its
    classification, plus the unknown member. -#}
with members as (
    select
        procedure_code, code_system, text, is_listed, modality, modality_group, is_ionising,
        is_guidance_code, rt_procedure_kind, is_intervention_code, is_interventional
    from {{ ref('int_procedure_codes') }}
    union all
    select 'unknown', 'unknown', 'unknown', false, null, null, false, false, null, false, false
)

select
    cast(procedure_code as varchar) as procedure_code,
    cast(code_system as varchar) as code_system,
    cast(text as varchar) as text,
    cast(is_listed as boolean) as is_listed,
    cast(modality as varchar) as modality,
    cast(modality_group as varchar) as modality_group,
    cast(is_ionising as boolean) as is_ionising,
    cast(is_guidance_code as boolean) as is_guidance_code,
    cast(rt_procedure_kind as varchar) as rt_procedure_kind,
    cast(is_intervention_code as boolean) as is_intervention_code,
    cast(is_interventional as boolean) as is_interventional
from members

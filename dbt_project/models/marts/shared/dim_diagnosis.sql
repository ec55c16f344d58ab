{#- One row per ICD-10 code (the list and unlisted codes the data uses) with its diagnosis group,
    plus the unknown member. -#}
with members as (
    select diagnosis_code, text, is_listed, diagnosis_group from {{ ref('int_diagnosis_codes') }}
    union all
    select 'unknown', 'unknown', false, 'unknown'
)

select
    cast(diagnosis_code as varchar) as diagnosis_code,
    cast(text as varchar) as text,
    cast(is_listed as boolean) as is_listed,
    cast(diagnosis_group as varchar) as diagnosis_group,
    cast(substring(diagnosis_code, 1, 1) as varchar) as chapter_letter
from members

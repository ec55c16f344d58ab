{{ config(materialized='view') }}
{#- One row per year x patient of a raa or ord episode of that year's episode groups, with its
    int_patient_keys row (person, sex, birth year): a new Pasient or PasientIdent
    record changes the years of the patient's raa and ord episodes (stage 'imaging' of macro
    build_stages fingerprints it). -#}
-- every column of the patient key: whatever the examinations may take from it
select distinct
    g.year,
    p.*
from {{ ref('int_imaging__episode_groups') }} as g
inner join {{ ref('int_patient_keys') }} as p
    on p.institution_orgnr = g.institution_orgnr and p.patient_local_id = g.patient_local_id
where g.module in ('raa', 'ord')

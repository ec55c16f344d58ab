{#- One row per person key: the NPR-IDE pseudonym, or a sender-local key 'local:<orgnr>:<pasientNr>'
    (flagged) where no ide message links the patient; plus the unknown member. Sex and birth year
    from the latest Pasient record among the person's local patients. -#}
with keys as (
    select * from {{ ref('int_patient_keys') }}
),

people as (
    select
        person_key,
        max(case when is_person_resolved then 1 else 0 end) = 1 as is_person_resolved,
        count(*) as n_local_patients,
        max(sex) as sex,
        max(birth_year) as birth_year
    from keys
    group by person_key
),

members as (
    select person_key, is_person_resolved, n_local_patients, sex, birth_year from people
    union all
    select 'unknown', false, 0, null, null
)

select
    cast(person_key as varchar) as person_key,
    cast(is_person_resolved as boolean) as is_person_resolved,
    cast(n_local_patients as integer) as n_local_patients,
    cast(sex as varchar) as sex,
    cast(birth_year as integer) as birth_year
from members

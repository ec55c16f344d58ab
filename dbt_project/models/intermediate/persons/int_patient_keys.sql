{#- One row per sender-local patient (institution, pasientNr) seen in current activity or in a
    Pasient record, resolved to a person: the NPR-IDE pseudonym where the institution's ide
    messages link the pasientNr (pid) to a valid fødselsnummer, else the sender-local key
    'local:<institution>:<pasientNr>', flagged (docs/domain.md section 2). Sex and birth year from the
    institution's latest Pasient record. Partitioned by institution with int_episode_versions (macro
    build_stages, stage 'corrections'). -#}
{{ config(**incremental_by_institution()) }}
{%- set modules = npr_modules('patient') %}
with patients as (
    {%- for module in modules %}
    select institution_orgnr, patient_local_id, sex, birth_year, file_id
    from (
        {{ current_context_rows(module, 'patients', ['patient_local_id'], 'institution_orgnr') }}
    ) as current_patients
    union all
    {%- endfor %}
    select institution_orgnr, patient_local_id, null as sex, null as birth_year, null as file_id
    from {{ build_partition_input('int_episode_versions', 'institution_orgnr') }}
    where is_current
),

files as (
    select file_id, max(extraction_date) as extraction_date
    from {{ build_partition_input('int_files', 'institution_orgnr') }}
    group by file_id
),

ranked as (
    select p.*, f.extraction_date, case when p.file_id is null then 1 else 0 end as has_no_record
    from patients as p
    left join files as f on f.file_id = p.file_id
    where p.patient_local_id is not null
),

latest as (
-- a Pasient record beats a bare episode reference; then the latest file
    {{ keep_first('ranked', ['institution_orgnr', 'patient_local_id'],
        ['has_no_record', 'extraction_date desc', 'file_id desc']) }}
),

idents as (
    select institution_orgnr, patient_local_id, person_pseudonym
    from (
        {{ current_context_rows('ide', 'person_idents', ['patient_local_id'], 'institution_orgnr') }}
    ) as current_idents
    where is_fid_valid and person_pseudonym is not null
)

select
    l.institution_orgnr,
    l.patient_local_id,
    coalesce(
        i.person_pseudonym,
        {{ natural_key(["'local'", 'l.institution_orgnr', 'l.patient_local_id']) }}
    ) as person_key,
    i.person_pseudonym is not null as is_person_resolved,
    l.sex,
    l.birth_year
from latest as l
left join idents as i
    on i.institution_orgnr = l.institution_orgnr and i.patient_local_id = l.patient_local_id

{#- One row per referral period (institution, henvisningsperiodeID) in the version of the latest
    loaded file that holds it, over every module that carries Henvisningsperiode: a context row
    like Pasient, so later files overwrite earlier values and a period stays once sent
    (docs/messages.md section 10). With the person behind it. Partitioned by institution (macro
    build_stages, stage 'corrections'). -#}
{{ config(**incremental_by_institution()) }}
with periods as (
    {{ latest_across_modules(
        'referral_periods', 'referral_period', ['referral_local_id'], partition_column='institution_orgnr'
    ) }}
)

select
    {{ natural_key(['p.institution_orgnr', 'p.referral_local_id']) }} as referral_id,
    p.institution_orgnr,
    p.referral_local_id,
    p.module,
    coalesce(
        pk.person_key, {{ natural_key(["'local'", 'p.institution_orgnr', 'p.patient_local_id']) }}
    ) as person_key,
    coalesce(pk.is_person_resolved, false) as is_person_resolved,
    p.patient_local_id,
    p.received_date,
    p.seniority_date,
    p.referral_type,
    p.from_institution_orgnr,
    p.file_id
from periods as p
left join {{ build_partition_input('int_patient_keys', 'institution_orgnr') }} as pk
    on pk.institution_orgnr = p.institution_orgnr and pk.patient_local_id = p.patient_local_id

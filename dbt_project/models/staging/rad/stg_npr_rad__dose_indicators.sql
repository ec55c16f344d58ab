with current_rows as ({{ current_episode_rows('rad', 'dose_indicator') }}),

typed as (
    select
        file_id,
        record_no,
        institusjonID as institution_orgnr,
        pasientNr as patient_local_id,
        medisinskStralingID as medical_radiation_id,
        episodeID as episode_id,
        {{ as_int('prosNr') }} as procedure_no,
        refUtstyr as equipment_local_id,
        doseType as dose_type,
        {{ as_number('verdi') }} as value_as_sent,
        benevning as unit_as_sent
    from current_rows
)

{{ with_canonical_units('typed', 'dose_type', 'value_as_sent', 'unit_as_sent') }}

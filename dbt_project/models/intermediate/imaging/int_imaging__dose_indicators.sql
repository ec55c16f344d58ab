{#- One row per rad Doseindikator in its current version, with its value in the canonical unit of
    its quantity (docs/messages.md section 6: unit_conversions seed via with_canonical_units); an
    unknown unit is flagged and its value left null. -#}
with current_rows as (
    {{ current_episode_rows('rad', 'dose_indicators') }}
),

typed as (
    select
        file_id,
        record_no,
        institution_orgnr,
        patient_local_id,
        medical_radiation_id,
        episode_id,
        procedure_no,
        equipment_local_id,
        dose_type,
        value_as_sent,
        unit_as_sent
    from current_rows
)

{{ with_canonical_units('typed', 'dose_type', 'value_as_sent', 'unit_as_sent') }}

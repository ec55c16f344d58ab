{{ config(**incremental_by_year(stage='imaging')) }}
{#- One row per rad Doseindikator in its current version, with its value in the canonical unit of
    its quantity (docs/messages.md section 6: unit_conversions seed via with_canonical_units); an
    unknown unit is flagged and its value left null. Partitioned by the year of the episode group
    (int_imaging__episode_groups). -#}
with current_rows as (
    {{ current_imaging_rows('rad', 'dose_indicators') }}
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
        unit_as_sent,
        year
    from current_rows
)

{{ with_canonical_units('typed', 'dose_type', 'value_as_sent', 'unit_as_sent') }}

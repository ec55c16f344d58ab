with current_rows as ({{ current_episode_rows('rad', 'dose_event') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pasientNr as patient_local_id,
    medisinskStralingID as medical_radiation_id,
    episodeID as episode_id,
    {{ as_int('prosNr') }} as procedure_no,
    refUtstyr as equipment_local_id,
    {{ as_timestamp('startDatoTid') }} as started_at
from current_rows

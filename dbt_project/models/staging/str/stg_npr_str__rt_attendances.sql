with current_rows as ({{ current_episode_rows('str', 'rt_attendance') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pasientNr as patient_local_id,
    medisinskStralingID as medical_radiation_id,
    serieID as series_local_id,
    episodeID as episode_id,
    refUtstyr as equipment_local_id
from current_rows

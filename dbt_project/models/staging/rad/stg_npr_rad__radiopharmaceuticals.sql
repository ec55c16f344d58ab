with current_rows as ({{ current_episode_rows('rad', 'radiopharmaceutical') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pasientNr as patient_local_id,
    medisinskStralingID as medical_radiation_id,
    episodeID as episode_id,
    {{ as_int('prosNr') }} as procedure_no,
    refUtstyr as equipment_local_id,
    kode as radiopharmaceutical_code,
    {{ as_number('administrertAktivitet') }} as administered_activity_mbq
from current_rows

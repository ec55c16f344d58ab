with current_rows as ({{ current_context_rows('str', 'rt_series', ['serieID']) }})

select
    {{ radiation_keys() }},
    serieID as series_local_id,
    behandlingsserieNavn as series_name,
    intensjon as intent_code,
    nyPasient as new_patient_code,
    {{ as_date('datoForste') }} as first_attendance_date
from current_rows

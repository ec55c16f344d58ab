with current_rows as ({{ current_episode_rows('str', 'dose_contribution') }})

select
    {{ radiation_keys() }},
    serieID as series_local_id,
    episodeID as episode_id,
    refUtstyr as equipment_local_id,
    referansevolumID as reference_volume_id,
    {{ as_number('planDose') }} as planned_dose_gy,
    {{ as_number('gittDose') }} as delivered_dose_gy
from current_rows

with current_rows as ({{ current_episode_rows('str', 'rt_attendance') }})

select
    {{ radiation_keys() }},
    serieID as series_local_id,
    episodeID as episode_id,
    refUtstyr as equipment_local_id
from current_rows

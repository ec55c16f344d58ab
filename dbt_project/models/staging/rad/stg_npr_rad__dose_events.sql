with current_rows as ({{ current_episode_rows('rad', 'dose_event') }})

select
    {{ dose_event_keys() }},
    {{ as_timestamp('startDatoTid') }} as started_at
from current_rows

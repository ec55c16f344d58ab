with current_rows as ({{ current_episode_rows('rad', 'radiopharmaceutical') }})

select
    {{ dose_event_keys() }},
    kode as radiopharmaceutical_code,
    {{ as_number('administrertAktivitet') }} as administered_activity_mbq
from current_rows

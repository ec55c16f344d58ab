with current_rows as ({{ current_episode_rows('rad', 'dose_indicator') }}),

typed as (
    select
        {{ dose_event_keys() }},
        doseType as dose_type,
        {{ as_number('verdi') }} as value_as_sent,
        benevning as unit_as_sent
    from current_rows
)

{{ with_canonical_units('typed', 'dose_type', 'value_as_sent', 'unit_as_sent') }}

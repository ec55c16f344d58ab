{{ stg_episode_units('raa') }}

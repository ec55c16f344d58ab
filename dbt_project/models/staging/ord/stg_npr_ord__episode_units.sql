{{ stg_episode_units('ord') }}

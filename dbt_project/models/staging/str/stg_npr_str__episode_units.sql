{{ stg_episode_units('str') }}

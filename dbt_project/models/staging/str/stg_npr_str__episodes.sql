{{ stg_episodes('str') }}

{{ stg_episodes('ord') }}

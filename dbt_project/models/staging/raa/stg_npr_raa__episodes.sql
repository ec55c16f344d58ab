{{ stg_episodes('raa') }}

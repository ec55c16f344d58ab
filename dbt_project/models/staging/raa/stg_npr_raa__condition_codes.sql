{{ stg_condition_codes('raa') }}

{{ stg_condition_codes('ord') }}

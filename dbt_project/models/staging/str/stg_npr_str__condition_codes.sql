{{ stg_condition_codes('str') }}

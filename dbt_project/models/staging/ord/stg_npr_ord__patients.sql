{{ stg_patients('ord') }}

{{ stg_patients('str') }}

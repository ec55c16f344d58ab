{{ stg_patients('rad') }}

{{ stg_patients('raa') }}

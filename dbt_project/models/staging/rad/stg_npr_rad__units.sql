{{ stg_units('rad') }}

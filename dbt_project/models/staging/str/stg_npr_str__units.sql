{{ stg_units('str') }}

{{ stg_units('ord') }}

{{ stg_units('raa') }}

{{ stg_equipment('raa') }}

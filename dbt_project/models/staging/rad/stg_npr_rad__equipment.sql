{{ stg_equipment('rad') }}

{{ stg_equipment('ord') }}

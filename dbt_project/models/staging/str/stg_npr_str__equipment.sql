{{ stg_equipment('str') }}

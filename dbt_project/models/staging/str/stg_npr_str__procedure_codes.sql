{{ stg_procedure_codes('str') }}

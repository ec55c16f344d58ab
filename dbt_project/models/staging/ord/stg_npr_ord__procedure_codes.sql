{{ stg_procedure_codes('ord') }}

{{ stg_procedure_codes('raa') }}

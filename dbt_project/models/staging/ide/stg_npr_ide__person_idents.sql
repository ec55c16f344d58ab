with current_rows as ({{ current_context_rows('ide', 'person_ident', ['pid']) }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pid as patient_local_id,
    person_pseudonym,
    fid_valid as is_fid_valid,
    typeID as id_type
from current_rows

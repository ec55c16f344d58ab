with current_rows as (
    {{ current_context_rows('str', 'reference_volume', ['medisinskStralingID', 'referansevolumID']) }}
)

select
    {{ radiation_keys() }},
    referansevolumID as reference_volume_id,
    referansevolumNavn as reference_volume_name,
    {{ as_int('regionkode') }} as region_code,
    regionNavn as region_name,
    {{ as_number('planlagtTotalDose') }} as planned_total_dose_gy,
    dosekorreksjon as dose_correction,
    merknad as remark
from current_rows

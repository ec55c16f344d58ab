{#- One row per dose record as received, in the institution and month it belongs to whether or not
    its examination arrived: the base for dose-without-activity and unit completeness. -#}
select
    dose_id,
    examination_id,
    dose_type,
    unit_as_sent,
    is_unit_known,
    has_activity,
    year,
    month,
    institution_orgnr
from {{ ref('int_deliveries__imaging_doses') }}

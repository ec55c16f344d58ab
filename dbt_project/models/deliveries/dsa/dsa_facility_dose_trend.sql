{#- Time series of the facility typical values: one row per year x facility x examination code x dose
    type, dsa_facility_dose's row (suppressed there) with the national P75 of the year (dsa_drl, where
    published) and the change of the facility's median from the year before. -#}
{%- set keys = ['year', 'facility_id', 'procedure_code', 'dose_type'] -%}
with facilities as (
    select
        f.*,
        d.p75 as national_p75
    from {{ ref('dsa_facility_dose') }} as f
    left join {{ ref('dsa_drl') }} as d
        on d.year = f.year and d.procedure_code = f.procedure_code and d.dose_type = f.dose_type
),

changed as (
    {{ with_change_from_previous_year('facilities', keys, ['median']) }}
)

select * exclude (is_provisional), {{ is_provisional('year') }} as is_provisional
from changed

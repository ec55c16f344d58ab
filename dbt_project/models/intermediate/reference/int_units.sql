{#- One row per unit (institution, Enhet/@enhetID) across all modules' registers, in the version
    of the latest file that sent it; site orgnr with the RT-unit quirk resolved (site_orgnr macro,
    docs/domain.md section 1). -#}
with ranked as (
    {{ latest_across_modules('units', 'unit', ['unit_id']) }}
)

select
    institution_orgnr,
    unit_id,
    site_orgnr_as_sent,
    {{ site_orgnr('site_orgnr_as_sent') }} as site_orgnr,
    resh_id,
    department_code,
    unit_local_name,
    sector
from ranked

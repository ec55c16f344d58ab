{#- One row per unit (institution, Enhet/@enhetID) across all modules' registers, in the version
    of the latest file that sent it; site orgnr with the RT-unit quirk resolved (site_orgnr macro,
    applied in staging). -#}
{%- set modules = ['str', 'raa', 'rad', 'ord'] %}
with units as (
    {%- for module in modules %}
    select u.*, f.extraction_date, f.file_seq
    from {{ ref('stg_npr_' ~ module ~ '__units') }} as u
    inner join {{ ref('stg_npr__files') }} as f
        on f.file_id = u.file_id and f.module = '{{ module }}' and f.institution_orgnr = u.institution_orgnr
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked as (
    {{ keep_first('units', ['institution_orgnr', 'unit_id'], ['extraction_date desc', 'file_seq desc', 'file_id desc']) }}
)

select
    institution_orgnr,
    unit_id,
    site_orgnr_as_sent,
    site_orgnr,
    resh_id,
    department_code,
    unit_local_name,
    sector
from ranked
where row_rank = 1

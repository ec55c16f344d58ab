{#- One row per procedure code: the NCRP, NCSP (with the ZXM guidance codes) and NCMP lists, and every
    code the current data uses that the lists lack (newer editions, typos). The one place codes
    are classified:
      - NCRP main codes (and unlisted R codes) by the 6th letter: modality and ionising flag;
      - ZXM codes by the zxm_codes seed;
      - radiotherapy NCMP codes by prefix: WEOA/WEOB/WEOC treatment, WEGX planning, WEGT check;
      - intervention codes: NCRP codes other than S (diagnostic), T (nuclear medicine) and Z
        (additional), and NCSP/NCMP procedures; interventional for DRL minimum samples: those and
        NCRP angiography/venography (6th letter B or C). -#}
{%- set modules = npr_modules('procedure_code') %}
with listed as (
    select code, text, 'NCRP' as code_system from {{ ref('codes_ncrp') }}
    union all
    select code, text, 'NCSP' as code_system from {{ ref('codes_ncsp') }}
    union all
    select code, text, 'NCMP' as code_system from {{ ref('codes_ncmp') }}
),

used as (
    {%- for module in modules %}
    select distinct code, code_system as sent_code_system
    from ({{ current_episode_rows(module, 'procedure_codes') }}) as current_codes
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unlisted as (
    select
        code,
        cast(null as {{ api.Column.translate_type('string') }}) as text,
        case min(sent_code_system)
            when 'R' then 'NCRP' when 'K' then 'NCSP' when 'M' then 'NCMP' else 'other'
        end as code_system
    from used
    where code is not null and code not in (select l.code from listed as l)
    group by code
),

codes as (
    select code, text, code_system, true as is_listed from listed
    union all
    select code, text, code_system, false as is_listed from unlisted
)

select
    c.code as procedure_code,
    c.code_system,
    c.text,
    c.is_listed,
    coalesce(z.modality, l.modality) as modality,
    coalesce(z.modality_group, l.modality_group) as modality_group,
    coalesce(z.is_ionising, l.is_ionising, false) as is_ionising,
    z.zxm_code is not null as is_guidance_code,
    (c.code_system = 'NCRP' and substring(c.code, 1, 1) not in ('S', 'T', 'Z'))
    or c.code_system in ('NCSP', 'NCMP') as is_intervention_code,
    (c.code_system = 'NCRP' and substring(c.code, 1, 1) not in ('S', 'T', 'Z'))
    or c.code_system in ('NCSP', 'NCMP')
    or (c.code_system = 'NCRP' and substring(c.code, 6, 1) in ('B', 'C')) as is_interventional,
    case
        when substring(c.code, 1, 4) in ('WEOA', 'WEOB', 'WEOC') then 'treatment'
        when substring(c.code, 1, 4) = 'WEGX' then 'planning'
        when substring(c.code, 1, 4) = 'WEGT' then 'check'
    end as rt_procedure_kind
from codes as c
left join {{ ref('ncrp_modality_letters') }} as l
    -- additional NCRP codes (Z..., e.g. ZTX0EA contrast) carry no modality letter
    on
        c.code_system = 'NCRP'
        and substring(c.code, 1, 1) <> 'Z'
        and l.modality_letter = substring(c.code, 6, 1)
left join {{ ref('zxm_codes') }} as z on z.zxm_code = c.code

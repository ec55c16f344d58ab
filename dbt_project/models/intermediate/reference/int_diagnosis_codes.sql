{#- One row per ICD-10 code (the list plus codes the current data uses that it lacks), with its
    diagnosis group: the matching diagnosis_groups range with the lowest priority, comparing as
    many leading characters as the range bound has. -#}
{%- set modules = npr_modules('condition_code') %}
with listed as (
    select ICD10 as code, Tekst as text, true as is_listed from {{ ref('codes_icd10') }}
),

used as (
    {%- for module in modules %}
    select distinct code
    from ({{ current_episode_rows(module, 'condition_codes') }}) as current_codes
    where code_system = 'D'
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

codes as (
    select code, text, is_listed from listed
    union all
    select distinct code, cast(null as {{ api.Column.translate_type('string') }}) as text, false as is_listed
    from used
    where code is not null and code not in (select l.code from listed as l)
),

matched as (
    select
        c.code,
        g.diagnosis_group,
        row_number() over (partition by c.code order by g.priority, g.code_from) as match_rank
    from codes as c
    inner join {{ ref('diagnosis_groups') }} as g
        on
            substring(c.code, 1, {{ dbt.length('g.code_from') }}) >= g.code_from
            and substring(c.code, 1, {{ dbt.length('g.code_to') }}) <= g.code_to
)

select
    c.code as diagnosis_code,
    c.text,
    c.is_listed,
    coalesce(m.diagnosis_group, 'other') as diagnosis_group
from codes as c
left join matched as m on m.code = c.code and m.match_rank = 1

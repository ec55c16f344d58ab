{#- One row per year x RHF x hospital (HF) of treatment x diagnosis group x intent: Helsedirektoratet's
    overall radiotherapy activity. Patients count once per year (by series start) and diagnosis, in the
    cell of their first series; series in the year they start; attendances (WEOA/WEOB/WEOC) in the year
    they happen, split by care level (3 outpatient, 8 outpatient contact for an inpatient).
    Suppression rests on n_patients_in_cell, every person behind any count of the row: a cell of
    January attendances of series that started the year before has no patient counted (n_patients 0)
    but still rests on real persons, and must neither vanish unnoticed nor be published on 1 to 4. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
with series as (
    select
        {{ keys | join(', ') }},
        count(distinct person_key) filter (where counts_as_patient) as n_patients,
        count(distinct person_key) filter (where counts_as_patient and is_new_patient) as n_new_patients,
        count(*) as n_series
    from {{ ref('int_deliveries__rt_series') }}
    group by {{ keys | join(', ') }}
),

persons as (
    select {{ keys | join(', ') }}, count(distinct person_key) as n_patients_in_cell
    from (
        select {{ keys | join(', ') }}, person_key from {{ ref('int_deliveries__rt_series') }}
        union all
        select {{ keys | join(', ') }}, person_key from {{ ref('int_deliveries__rt_attendances') }}
    ) as behind_cells
    group by {{ keys | join(', ') }}
),

attendances as (
    select
        {{ keys | join(', ') }},
        count(*) as n_attendances,
        count(*) filter (where care_level = '3') as n_attendances_outpatient,
        count(*) filter (where care_level = '8') as n_attendances_inpatient
    from {{ ref('int_deliveries__rt_attendances') }}
    group by {{ keys | join(', ') }}
),

cells as (
    select
        {% for k in keys %}coalesce(s.{{ k }}, a.{{ k }}) as {{ k }},
        {% endfor -%}
        coalesce(s.n_patients, 0) as n_patients,
        coalesce(p.n_patients_in_cell, 0) as n_patients_in_cell,
        coalesce(s.n_new_patients, 0) as n_new_patients,
        coalesce(s.n_series, 0) as n_series,
        coalesce(a.n_attendances, 0) as n_attendances,
        coalesce(a.n_attendances_outpatient, 0) as n_attendances_outpatient,
        coalesce(a.n_attendances_inpatient, 0) as n_attendances_inpatient
    from series as s
    full outer join attendances as a using ({{ keys | join(', ') }})
    left join persons as p
        on
        {%- for k in keys %}
            {% if not loop.first %}and {% endif %}p.{{ k }} = coalesce(s.{{ k }}, a.{{ k }})
        {%- endfor %}
),

{{ suppress_small_cells('cells', 'n_patients_in_cell', keys,
    margins=[['year', 'rhf_name', 'hf_name'], ['year', 'rhf_name', 'diagnosis_group'], ['year']],
    subcount_columns=['n_patients', 'n_new_patients']) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

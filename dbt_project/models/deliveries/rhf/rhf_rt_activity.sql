{#- One row per year x RHF x hospital (HF) of treatment x diagnosis group x intent: Helsedirektoratet's
    overall radiotherapy activity. Patients count once per year (by series start) and diagnosis, in the
    cell of their first series; series in the year they start; attendances (WEOA/WEOB/WEOC) in the year
    they happen, split by care level (3 outpatient, 8 outpatient contact for an inpatient).
    Every number is suppressed on the unique patients behind that number (suppress_small_cells);
    patients who are not new and attendances of other care levels are the hidden remainders of the
    row's sums. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
with series as (
    select
        {{ keys | join(', ') }},
        count(distinct person_key) filter (where counts_as_patient) as n_patients,
        count(distinct person_key) filter (where counts_as_patient and is_new_patient) as n_new_patients,
        count(distinct person_key) filter (where counts_as_patient and not is_new_patient)
            as n_not_new_patients,
        count(*) as n_series,
        count(distinct person_key) as n_series__patients
    from {{ ref('int_deliveries__rt_series') }}
    group by {{ keys | join(', ') }}
),

attendances as (
    select
        {{ keys | join(', ') }},
        count(*) as n_attendances,
        count(distinct person_key) as n_attendances__patients,
        count(*) filter (where care_level = '3') as n_attendances_outpatient,
        count(distinct person_key) filter (where care_level = '3') as n_attendances_outpatient__patients,
        count(*) filter (where care_level = '8') as n_attendances_inpatient,
        count(distinct person_key) filter (where care_level = '8') as n_attendances_inpatient__patients,
        count(*) filter (where care_level not in ('3', '8') or care_level is null) as n_attendances_other,
        count(distinct person_key) filter (where care_level not in ('3', '8') or care_level is null)
            as n_attendances_other__patients
    from {{ ref('int_deliveries__rt_attendances') }}
    group by {{ keys | join(', ') }}
),

cells as (
    select
        {% for k in keys %}coalesce(s.{{ k }}, a.{{ k }}) as {{ k }},
        {% endfor -%}
        coalesce(s.n_patients, 0) as n_patients,
        coalesce(s.n_new_patients, 0) as n_new_patients,
        coalesce(s.n_not_new_patients, 0) as n_not_new_patients,
        coalesce(s.n_series, 0) as n_series,
        coalesce(s.n_series__patients, 0) as n_series__patients,
        coalesce(a.n_attendances, 0) as n_attendances,
        coalesce(a.n_attendances__patients, 0) as n_attendances__patients,
        coalesce(a.n_attendances_outpatient, 0) as n_attendances_outpatient,
        coalesce(a.n_attendances_outpatient__patients, 0) as n_attendances_outpatient__patients,
        coalesce(a.n_attendances_inpatient, 0) as n_attendances_inpatient,
        coalesce(a.n_attendances_inpatient__patients, 0) as n_attendances_inpatient__patients,
        coalesce(a.n_attendances_other, 0) as n_attendances_other,
        coalesce(a.n_attendances_other__patients, 0) as n_attendances_other__patients
    from series as s
    full outer join attendances as a using ({{ keys | join(', ') }})
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_patients': 'n_patients',
        'n_new_patients': 'n_new_patients',
        'n_not_new_patients': 'n_not_new_patients',
        'n_series': 'n_series__patients',
        'n_attendances': 'n_attendances__patients',
        'n_attendances_outpatient': 'n_attendances_outpatient__patients',
        'n_attendances_inpatient': 'n_attendances_inpatient__patients',
        'n_attendances_other': 'n_attendances_other__patients'},
    hidden=['n_not_new_patients', 'n_attendances_other'],
    margins=[
        ['year', 'rhf_name', 'hf_name', 'measure'],
        ['year', 'rhf_name', 'diagnosis_group', 'measure'],
        ['year', 'measure'],
        keys + ["case when measure in ('n_patients', 'n_new_patients', 'n_not_new_patients') then 1 end"],
        keys + ["case when measure like 'n_attendances%' then 1 end"]]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

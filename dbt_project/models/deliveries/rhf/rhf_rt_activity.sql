{#- One row per year x RHF x hospital (HF) of treatment x diagnosis group x intent: Helsedirektoratet's
    overall radiotherapy activity (the cells: macro rt_activity_cells). Patients count once per year (by
    series start) and diagnosis, in the cell of their first series; series in the year they start;
    attendances (WEOA/WEOB/WEOC) in the year they happen, split by care level (3 outpatient, 8
    outpatient contact for an inpatient).
    Every number is suppressed on the unique patients behind that number (suppress_small_cells);
    patients who are not new and attendances of other care levels are the hidden remainders of the
    row's sums. The RHF x HF totals per year (a margin here) are published in rhf_rt_activity_trend. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
with cells as (
    {{ rt_activity_cells(keys) }}
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_patients': 'n_patients__patients',
        'n_new_patients': 'n_new_patients__patients',
        'n_not_new_patients': 'n_not_new_patients__patients',
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
